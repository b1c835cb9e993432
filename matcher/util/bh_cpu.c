/* bh_cpu.c - CPUID feature detection (see bh_cpu.h). */
#include "bh_cpu.h"

#include <cpuid.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023 /* linux/arch/x86/include/uapi/asm/prctl.h */
#define XFEATURE_XTILEDATA 18

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static unsigned detect(void)
{
	unsigned a, b, c, d, f = 0;
	if (__get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e)
		f |= BH_CPU_INTEL; /* "Genu" "ineI" "ntel" */
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return f;
	int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1;
	if (!osxsave)
		return f;
	uint64_t xcr0 = xgetbv0();
	int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return f;
	if (ymm && fma && ((b >> 5) & 1))
		f |= BH_CPU_AVX2;
	int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
	if (zmm && avx512 && (f & BH_CPU_AVX2)) {
		f |= BH_CPU_AVX512;
		if ((c >> 11) & 1)
			f |= BH_CPU_AVX512VNNI;
		if ((c >> 14) & 1)
			f |= BH_CPU_VPOPCNTDQ;
		int amx = ((d >> 22) & 1) && ((d >> 24) & 1); /* AMX-BF16, AMX-TILE */
		if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1)) {
			f |= BH_CPU_AVX512BF16;
			if (amx && ((xcr0 >> 17) & 3) == 3 &&
			    syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0)
				f |= BH_CPU_AMXBF16;
		}
	}
	return f;
}

unsigned bh_cpu_features(void)
{
	static int done;
	static unsigned cached;
	if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		cached = detect();
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
	return cached;
}
