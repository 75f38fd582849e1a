/* privinsn: runs privileged instructions from user mode and prints the signal each one
 * raises, with its si_code and whether si_addr is 0, the instruction, or elsewhere.
 * On Linux an x86_64 privileged instruction (hlt, cli, sti, in, out, rdmsr, wrmsr, lgdt,
 * mov to or from cr0) is a general protection fault: SIGSEGV, si_code SI_KERNEL (128),
 * si_addr 0 (arch/x86/kernel/traps.c). On aarch64 and riscv64 a system register or CSR
 * that user mode may not touch is an undefined instruction: SIGILL, ILL_ILLOPC (1),
 * si_addr the instruction; aarch64 `eret` likewise; `wfi` is an undefined instruction on riscv64
 * (U-mode) and a no-op on aarch64 (Linux traps it through SCTLR_EL1.nTWI and skips it). What
 * Linux lets user space do must still work: on aarch64 CTR_EL0, DCZID_EL0 and DC ZVA, cache
 * maintenance by address (dc cvau, dc civac, ic ivau), the virtual counter and its
 * frequency; on riscv64 rdtime, fence.i and the FP CSR. Those print "ran", with a check of
 * what they did where there is one. Each instruction is only reached through a jump table of
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
    /* For an instruction that must run: what went wrong ("" if nothing), and what to set
     * up before it. */
    const char *(*check)(void);
    void (*setup)(void);
};

#define TEST(fn, label, asm_text) TESTX(fn, label, asm_text, ::: "memory")
/* TESTX: the same with the asm statement's own operands and clobbers after the text. */
#define TESTX(fn, label, asm_text, ...)                                                    \
    extern char label[];                                                                    \
    static void __attribute__((noinline)) fn(void)                                          \
    {                                                                                       \
        __asm__ volatile(".globl " #label "\n" #label ":\n\t" asm_text __VA_ARGS__);      \
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
TEST(t_vbar, l_vbar, "mrs x0, vbar_el1")
TEST(t_eret, l_eret, "eret")
TEST(t_wfi, l_wfi, "wfi")
TEST(t_wfe, l_wfe, "sevl\n\t.globl l_wfe_insn\nl_wfe_insn:\n\twfe")
extern char l_wfe_insn[];
static unsigned long long cnt[2], frq, ctr, dczid;
static unsigned char block[4096] __attribute__((aligned(4096)));
TESTX(t_ctr, l_ctr, "mrs %0, ctr_el0", : "=r"(ctr))
TESTX(t_dczid, l_dczid, "mrs %0, dczid_el0", : "=r"(dczid))
TESTX(t_zva, l_zva, "dc zva, %0", : : "r"(block))
TESTX(t_cvau, l_cvau, "dc cvau, %0", : : "r"(block))
TESTX(t_civac, l_civac, "dc civac, %0", : : "r"(block))
TESTX(t_ivau, l_ivau, "ic ivau, %0", : : "r"(t_ivau))
TESTX(t_cntvct, l_cntvct, "mrs %0, cntvct_el0\n\tmov x9, #20000\n1:\tsubs x9, x9, #1\n\tb.ne 1b\n\tmrs %1, cntvct_el0", : "=&r"(cnt[0]), "=r"(cnt[1]) : : "x9", "cc")
TESTX(t_cntfrq, l_cntfrq, "mrs %0, cntfrq_el0", : "=r"(frq))
static const char *c_ctr(void) { return ctr >> 31 ? "" : " (RES1 bit 31 clear)"; }
static const char *c_dczid(void) { return dczid & 16 ? " (DC ZVA prohibited)" : ""; }
static const char *c_zva(void)
{
    /* The block size is 4 << DCZID_EL0.BS bytes; all of it must now be zero. */
    size_t n = (size_t)4 << (dczid & 15);
    for (size_t i = 0; i < n && i < sizeof block; i++)
        if (block[i]) return " (not zeroed)";
    return block[n] == 0xff ? "" : " (zeroed past the block)";
}
static const char *c_cntvct(void) { return cnt[1] > cnt[0] ? "" : " (did not advance)"; }
static const char *c_cntfrq(void) { return frq ? "" : " (zero)"; }
static void fill_block(void) { memset(block, 0xff, sizeof block); }
static const struct test tests[] = {
    {"mrs-sctlr_el1", t_sctlr, l_sctlr},
    {"mrs-currentel", t_currentel, l_currentel},
    {"mrs-tcr_el1", t_tcr, l_tcr},
    {"msr-daifset", t_daif, l_daif},
    {"mrs-vbar_el1", t_vbar, l_vbar},
    {"eret", t_eret, l_eret},
    {"wfi", t_wfi, l_wfi},
    {"wfe", t_wfe, l_wfe_insn},
    {"mrs-ctr_el0", t_ctr, l_ctr, c_ctr},
    {"mrs-dczid_el0", t_dczid, l_dczid, c_dczid},
    {"dc-zva", t_zva, l_zva, c_zva, fill_block},
    {"dc-cvau", t_cvau, l_cvau},
    {"dc-civac", t_civac, l_civac},
    {"ic-ivau", t_ivau, l_ivau},
    {"mrs-cntvct_el0", t_cntvct, l_cntvct, c_cntvct},
    {"mrs-cntfrq_el0", t_cntfrq, l_cntfrq, c_cntfrq},
};
#elif defined(__riscv)
TEST(t_mstatus, l_mstatus, "csrr a0, mstatus")
TEST(t_sstatus, l_sstatus, "csrr a0, sstatus")
TEST(t_satp, l_satp, "csrr a0, satp")
TEST(t_mhartid, l_mhartid, "csrr a0, mhartid")
TEST(t_stvec, l_stvec, "csrr a0, stvec")
TEST(t_sret, l_sret, "sret")
TEST(t_mret, l_mret, "mret")
TEST(t_wfi, l_wfi, "wfi")
static unsigned long tm[2], fcsr;
TESTX(t_rdtime, l_rdtime, "rdtime %0\n\tli t0, 20000\n1:\taddi t0, t0, -1\n\tbnez t0, 1b\n\trdtime %1", : "=&r"(tm[0]), "=r"(tm[1]) : : "t0")
TEST(t_fencei, l_fencei, "fence.i")
TESTX(t_fcsr, l_fcsr, "frcsr %0", : "=r"(fcsr))
static const char *c_rdtime(void) { return tm[1] > tm[0] ? "" : " (did not advance)"; }
static const struct test tests[] = {
    {"csrr-mstatus", t_mstatus, l_mstatus},
    {"csrr-sstatus", t_sstatus, l_sstatus},
    {"csrr-satp", t_satp, l_satp},
    {"csrr-mhartid", t_mhartid, l_mhartid},
    {"csrr-stvec", t_stvec, l_stvec},
    {"sret", t_sret, l_sret},
    {"mret", t_mret, l_mret},
    {"wfi", t_wfi, l_wfi},
    {"rdtime", t_rdtime, l_rdtime, c_rdtime},
    {"fence.i", t_fencei, l_fencei},
    {"frcsr", t_fcsr, l_fcsr},
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
        if (tests[i].setup)
            tests[i].setup();
        if (sigsetjmp(back, 1) == 0) {
            tests[i].run();
            printf("%s: ran%s\n", tests[i].name, tests[i].check ? tests[i].check() : "");
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
