/*
 * bh_cpu.h - CPU feature detection (CPUID + XGETBV), used to pick backends.
 */
#ifndef BH_CPU_H
#define BH_CPU_H

enum {
	BH_CPU_AVX2 = 1u << 0,       /* AVX2 + FMA, OS saves YMM */
	BH_CPU_AVX512 = 1u << 1,     /* AVX-512 F/BW/VL/DQ, OS saves ZMM */
	BH_CPU_AVX512VNNI = 1u << 2, /* VPDPBUSD */
	BH_CPU_VPOPCNTDQ = 1u << 3,  /* VPOPCNTQ */
	BH_CPU_AVX512BF16 = 1u << 4, /* VDPBF16PS, VCVTNE(2)PS2BF16 */
	BH_CPU_INTEL = 1u << 5,      /* vendor "GenuineIntel" (a speed choice, see bh_face_nn.c) */
	/* AMX-TILE + AMX-BF16, the OS saves the tile state (XCR0 bits 17-18)
	 * and Linux granted this process the tile data (arch_prctl
	 * ARCH_REQ_XCOMP_PERM, asked once here; without it the first tile
	 * instruction raises SIGILL).  Only with BH_CPU_AVX512BF16. */
	BH_CPU_AMXBF16 = 1u << 6,
};

/* Bit set of BH_CPU_* flags for this machine (computed once). */
unsigned bh_cpu_features(void);

#endif
