/*
 * bh_fpga_regs.h - register map, descriptor and completion formats of the
 * biohub matching core, as the driver sees them.  Mirrors hw/rtl/bh_pkg.sv
 * and docs/HARDWARE.md; keep all three in step.
 */
#ifndef BH_FPGA_REGS_H
#define BH_FPGA_REGS_H

#include <stdint.h>

#define BH_CORE_ID 0x424D4843u      /* "BHMC" */
#define BH_CORE_VERSION 0x00010000u /* 1.0.0 */

enum {
	BH_REG_ID = 0x00,
	BH_REG_VERSION = 0x04,
	BH_REG_CONFIG = 0x08,  /* lanes | kmax << 8 | max_beats << 16 */
	BH_REG_CONTROL = 0x0C, /* [0] enable [1] soft reset [2] error clear */
	BH_REG_STATUS = 0x10,  /* [0] busy [1] error [2] halted [11:8] state */
	BH_REG_ERR_CODE = 0x14,
	BH_REG_ERR_INFO = 0x18,
	BH_REG_IRQ_STATUS = 0x1C, /* W1C: [0] done [1] error */
	BH_REG_IRQ_ENABLE = 0x20,
	BH_REG_RING_BASE_LO = 0x24,
	BH_REG_RING_BASE_HI = 0x28,
	BH_REG_RING_LOG2 = 0x2C,
	BH_REG_RING_HEAD = 0x30,
	BH_REG_RING_TAIL = 0x34,
	BH_REG_WATCHDOG = 0x38,
	BH_REG_DEVMEM_BEATS = 0x3C,
	BH_REG_CYC_LO = 0x40,
	BH_REG_CYC_HI = 0x44,
	BH_REG_JOBS = 0x48,
	BH_REG_REC_LO = 0x4C,
	BH_REG_REC_HI = 0x50,
	BH_REG_ERRORS = 0x54,
	BH_REG_LAST_CYCLES = 0x58,
	BH_REG_STALL_CYC = 0x5C,
};

#define BH_CTRL_ENABLE 0x1u
#define BH_CTRL_SOFT_RESET 0x2u
#define BH_CTRL_ERR_CLEAR 0x4u
#define BH_IRQ_DONE 0x1u
#define BH_IRQ_ERROR 0x2u

enum {
	BH_CORE_ERR_NONE = 0,
	BH_CORE_ERR_DESC = 1,      /* ERR_INFO = field id below */
	BH_CORE_ERR_DMA_RANGE = 2, /* gallery outside device memory */
	BH_CORE_ERR_HOST_BUS = 3,  /* host memory access refused */
	BH_CORE_ERR_TIMEOUT = 4,   /* watchdog */
};

/* Descriptor: 64 bytes, little endian, 64-byte aligned ring slot. */
#define BH_DESC_MAGIC 0xB10Du
#define BH_DESC_OP_SEARCH 1u
#define BH_DESC_FLAG_AFTER 0x1u
typedef struct bh_core_desc {
	uint32_t word0;    /* opcode [7:0], flags [15:8], magic [31:16] */
	uint32_t kernel;   /* 1 DOT_I8, 2 HAMMING */
	uint32_t dim;      /* elements / bits */
	uint32_t stride;   /* bytes per record and per query, multiple of 64 */
	uint64_t gallery;  /* device address of record 0, 64-aligned */
	uint32_t n;        /* records */
	uint32_t nq;       /* queries = lanes used, 1..lanes */
	uint64_t query;    /* host address of nq rows of `stride` bytes */
	uint64_t result;   /* host address of the result area */
	uint64_t after;    /* host address of nq {i32 score, u32 row} (FLAG_AFTER) */
	uint32_t k;        /* 1..kmax */
	uint32_t tag;      /* echoed in the completion */
} bh_core_desc;

/* Result area: completion line, then for lane j line (1 + j*ceil(k/8) + w)
 * holding hits 8w..8w+7 as {i32 score, u32 row}; empty: row 0xFFFFFFFF. */
#define BH_DONE_MAGIC 0x4E444842u /* "BHDN" */
typedef struct bh_core_done {
	uint32_t magic;
	uint32_t tag;
	uint32_t err;
	uint32_t nq;
	uint64_t cycles; /* of this job, descriptor fetch to last write */
	uint32_t n;
	uint32_t k;
	uint8_t zero[32];
} bh_core_done;

typedef struct bh_core_hit {
	int32_t score;
	uint32_t row;
} bh_core_hit;

#define BH_CORE_ROW_NONE 0xFFFFFFFFu

#endif
