/* exit42: a guest that prints nothing and exits with status 42 (exit status pass-through). */
int main(void)
{
	return 42;
}
