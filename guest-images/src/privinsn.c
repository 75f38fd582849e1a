/* privinsn: runs privileged instructions from user mode and prints the signal each one
 * raises, with its si_code and whether si_addr is 0, the instruction, or elsewhere.
 * On Linux an x86_64 privileged instruction (hlt, cli, sti, in, out, rdmsr, wrmsr, lgdt,
 * mov to or from cr0) is a general protection fault: SIGSEGV, si_code SI_KERNEL (128),
 * si_addr 0 (arch/x86/kernel/traps.c). On aarch64 and riscv64 a system register or CSR
 * that user mode may not touch is an undefined instruction: SIGILL, ILL_ILLOPC (1),
 * si_addr the instruction. Each instruction is only reached through a jump table of
 * labels, so the compiler keeps them; only reads are used where a write could change the
 * machine if it were (wrongly) allowed. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    siglongjmp(back, 1);
}

/* Each test: a name, and a function whose body is the one instruction at a known label. */
struct test {
    const char *name;
    void (*run)(void);
    void *insn;
};

#define TEST(fn, label, asm_text)                                                          \
    extern char label[];                                                                    \
    static void __attribute__((noinline)) fn(void)                                          \
    {                                                                                       \
        __asm__ volatile(".globl " #label "\n" #label ":\n\t" asm_text ::: "memory");     \
    }

#if defined(__x86_64__)
TEST(t_hlt, l_hlt, "hlt")
TEST(t_cli, l_cli, "cli")
TEST(t_sti, l_sti, "sti")
TEST(t_in, l_in, "xor %%edx, %%edx\n\t.globl l_in_insn\nl_in_insn:\n\tinb %%dx, %%al")
TEST(t_out, l_out, "xor %%edx, %%edx\n\txor %%eax, %%eax\n\t.globl l_out_insn\nl_out_insn:\n\toutb %%al, %%dx")
TEST(t_rdmsr, l_rdmsr, "mov $0x10, %%ecx\n\t.globl l_rdmsr_insn\nl_rdmsr_insn:\n\trdmsr")
TEST(t_wrmsr, l_wrmsr, "mov $0xc0000100, %%ecx\n\txor %%eax, %%eax\n\txor %%edx, %%edx\n\t.globl l_wrmsr_insn\nl_wrmsr_insn:\n\twrmsr")
TEST(t_lgdt, l_lgdt, "sub $16, %%rsp\n\t.globl l_lgdt_insn\nl_lgdt_insn:\n\tlgdt (%%rsp)\n\tadd $16, %%rsp")
TEST(t_rdcr0, l_rdcr0, "mov %%cr0, %%rax")
TEST(t_wrcr0, l_wrcr0, "mov %%cr0, %%rax\n\t.globl l_wrcr0_insn\nl_wrcr0_insn:\n\tmov %%rax, %%cr0")
extern char l_in_insn[], l_out_insn[], l_rdmsr_insn[], l_wrmsr_insn[], l_lgdt_insn[],
    l_wrcr0_insn[];
static const struct test tests[] = {
    {"hlt", t_hlt, l_hlt},
    {"cli", t_cli, l_cli},
    {"sti", t_sti, l_sti},
    {"in", t_in, l_in_insn},
    {"out", t_out, l_out_insn},
    {"rdmsr", t_rdmsr, l_rdmsr_insn},
    {"wrmsr", t_wrmsr, l_wrmsr_insn},
    {"lgdt", t_lgdt, l_lgdt_insn},
    {"mov-from-cr0", t_rdcr0, l_rdcr0},
    {"mov-to-cr0", t_wrcr0, l_wrcr0},
};
#elif defined(__aarch64__)
TEST(t_sctlr, l_sctlr, "mrs x0, sctlr_el1")
TEST(t_currentel, l_currentel, "mrs x0, currentel")
TEST(t_tcr, l_tcr, "mrs x0, tcr_el1")
TEST(t_daif, l_daif, "msr daifset, #0")
static const struct test tests[] = {
    {"mrs-sctlr_el1", t_sctlr, l_sctlr},
    {"mrs-currentel", t_currentel, l_currentel},
    {"mrs-tcr_el1", t_tcr, l_tcr},
    {"msr-daifset", t_daif, l_daif},
};
#elif defined(__riscv)
TEST(t_mstatus, l_mstatus, "csrr a0, mstatus")
TEST(t_sstatus, l_sstatus, "csrr a0, sstatus")
TEST(t_satp, l_satp, "csrr a0, satp")
TEST(t_mhartid, l_mhartid, "csrr a0, mhartid")
static const struct test tests[] = {
    {"csrr-mstatus", t_mstatus, l_mstatus},
    {"csrr-sstatus", t_sstatus, l_sstatus},
    {"csrr-satp", t_satp, l_satp},
    {"csrr-mhartid", t_mhartid, l_mhartid},
};
#endif

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGILL: return "SIGILL";
    case SIGBUS: return "SIGBUS";
    case SIGTRAP: return "SIGTRAP";
    default: return "other";
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGILL, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    sigaction(SIGTRAP, &sa, 0);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        got_sig = 0;
        if (sigsetjmp(back, 1) == 0) {
            tests[i].run();
            printf("%s: ran\n", tests[i].name);
        } else {
            const char *where = got_addr == 0                  ? "0"
                                : got_addr == tests[i].insn ? "insn"
                                                            : "elsewhere";
            printf("%s: %s code=%d addr=%s\n", tests[i].name, signame(got_sig), got_code,
                   where);
        }
        fflush(stdout);
    }
    return 0;
}
