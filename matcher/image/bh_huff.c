/* bh_huff.c - canonical Huffman codes from the 16 length counts; see
 * bh_huff.h. */
#include "bh_huff.h"

int bh_huff_codes_build(bh_huff_codes *c, const uint8_t counts[16])
{
	int32_t code = 0, k = 0;
	for (int l = 1; l <= 16; l++) {
		c->valptr[l] = k;
		c->mincode[l] = code;
		code += counts[l - 1];
		k += counts[l - 1];
		c->maxcode[l] = counts[l - 1] ? code - 1 : -1;
		if (code > (1 << l))
			return l; /* more codes of l bits than l bits hold */
		code <<= 1;
	}
	return 0;
}
