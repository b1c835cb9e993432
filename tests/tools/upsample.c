/*
 * upsample.c - test input maker: `upsample IN.pgm OUT.pgm FACTOR` scales an
 * 8-bit PGM up by FACTOR with a Catmull-Rom (bicubic, a = -0.5) kernel,
 * edges clamped.  It makes 1000-ppi copies of 500-ppi prints for the
 * accuracy test finger_1000ppi.sh and the resolution checks of search.sh and
 * dataplane.sh, with a kernel other than the extractor's tent filter
 * (matcher/finger/bh_extract.c), so the extractor's 1000 -> 500 ppi path is
 * not checked against its own inverse.  Test tool only: no limits beyond
 * what a test image needs, errors exit non-zero.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float catmull_rom(float t)
{
	t = fabsf(t);
	if (t < 1)
		return (1.5f * t - 2.5f) * t * t + 1;
	if (t < 2)
		return ((-0.5f * t + 2.5f) * t - 4) * t + 2;
	return 0;
}

static int clampi(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

int main(int argc, char **argv)
{
	int w, h, maxval;
	if (argc != 4) {
		fprintf(stderr, "usage: upsample IN.pgm OUT.pgm FACTOR\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f || fscanf(f, "P5 %d %d %d", &w, &h, &maxval) != 3 || maxval != 255 || w < 1 ||
	    h < 1 || w > 8192 || h > 8192 || fgetc(f) == EOF)
		return fprintf(stderr, "upsample: %s: not an 8-bit PGM\n", argv[1]), 1;
	unsigned char *in = malloc((size_t)w * h);
	if (!in || fread(in, 1, (size_t)w * h, f) != (size_t)w * h)
		return fprintf(stderr, "upsample: %s: short\n", argv[1]), 1;
	fclose(f);
	const float s = strtof(argv[3], NULL);
	if (!(s >= 1 && s <= 4))
		return fprintf(stderr, "upsample: factor 1..4\n"), 1;
	const int ow = (int)lrintf((float)w * s), oh = (int)lrintf((float)h * s);
	unsigned char *out = malloc((size_t)ow * oh);
	if (!out)
		return 1;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			const float sx = ((float)x + 0.5f) / s - 0.5f, sy = ((float)y + 0.5f) / s - 0.5f;
			const int ix = (int)floorf(sx), iy = (int)floorf(sy);
			float acc = 0, wsum = 0;
			for (int j = -1; j <= 2; j++)
				for (int i = -1; i <= 2; i++) {
					const float wt = catmull_rom(sx - (float)(ix + i)) *
							 catmull_rom(sy - (float)(iy + j));
					acc += wt * in[clampi(iy + j, h - 1) * w + clampi(ix + i, w - 1)];
					wsum += wt;
				}
			const float v = acc / wsum;
			out[(size_t)y * ow + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v));
		}
	f = fopen(argv[2], "wb");
	if (!f || fprintf(f, "P5\n%d %d\n255\n", ow, oh) < 0 ||
	    fwrite(out, 1, (size_t)ow * oh, f) != (size_t)ow * oh || fclose(f) != 0)
		return fprintf(stderr, "upsample: cannot write %s\n", argv[2]), 1;
	free(in);
	free(out);
	return 0;
}
