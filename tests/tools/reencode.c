/*
 * reencode.c - test input maker: `reencode IN.pgm OUT KIND` writes an 8-bit
 * PGM again, losslessly, as TIFF (through libtiff) or BMP (written here), in
 * one of the layouts real files use, so tests can check that the TIFF and
 * BMP decoders (matcher/image/bh_tiff.c, bh_bmp.c) return a print's pixels
 * exactly.  KIND:
 *   tiff-none, tiff-packbits, tiff-lzw, tiff-deflate   grey, strips of 16 rows
 *   tiff-minwhite   grey stored inverted (MinIsWhite), LZW
 *   tiff-tiled      grey in 64x64 tiles, Deflate
 *   tiff-palette    8-bit indices into a grey colour map
 *   tiff-rgb        R = G = B
 *   bmp8, bmp8-topdown   8-bit grey colour table, bottom-up / top-down rows
 *   bmp24, bmp32         B = G = R
 * Test tool only: errors exit non-zero.
 */
#include <tiffio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_pgm(const char *path, int *w, int *h)
{
	int maxval;
	FILE *f = fopen(path, "rb");
	if (!f || fscanf(f, "P5 %d %d %d", w, h, &maxval) != 3 || maxval != 255 || *w < 1 ||
	    *h < 1 || *w > 8192 || *h > 8192 || fgetc(f) == EOF)
		return NULL;
	unsigned char *px = malloc((size_t)*w * *h);
	if (px && fread(px, 1, (size_t)*w * *h, f) != (size_t)*w * *h) {
		free(px);
		px = NULL;
	}
	fclose(f);
	return px;
}

/* ---- TIFF ---------------------------------------------------------------- */

static int tiff_tiles(TIFF *t, const unsigned char *px, int w, int h)
{
	enum { T = 64 };
	static unsigned char tile[T * T];
	TIFFSetField(t, TIFFTAG_TILEWIDTH, T);
	TIFFSetField(t, TIFFTAG_TILELENGTH, T);
	for (int ty = 0; ty < h; ty += T)
		for (int tx = 0; tx < w; tx += T) {
			memset(tile, 0, sizeof tile);
			for (int y = 0; y < T && ty + y < h; y++)
				for (int x = 0; x < T && tx + x < w; x++)
					tile[y * T + x] = px[(size_t)(ty + y) * w + tx + x];
			if (TIFFWriteTile(t, tile, (uint32_t)tx, (uint32_t)ty, 0, 0) < 0)
				return 1;
		}
	return 0;
}

static int write_tiff(const char *out, const unsigned char *px, int w, int h, const char *kind)
{
	int rgb = !strcmp(kind, "tiff-rgb"), pal = !strcmp(kind, "tiff-palette");
	int minwhite = !strcmp(kind, "tiff-minwhite"), tiled = !strcmp(kind, "tiff-tiled");
	uint16_t comp = COMPRESSION_NONE;
	if (!strcmp(kind, "tiff-packbits"))
		comp = COMPRESSION_PACKBITS;
	else if (!strcmp(kind, "tiff-lzw") || minwhite)
		comp = COMPRESSION_LZW;
	else if (!strcmp(kind, "tiff-deflate") || tiled)
		comp = COMPRESSION_ADOBE_DEFLATE;
	else if (!rgb && !pal && strcmp(kind, "tiff-none"))
		return 2;
	TIFF *t = TIFFOpen(out, "w");
	if (!t)
		return 1;
	const int spp = rgb ? 3 : 1;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, rgb ? PHOTOMETRIC_RGB
					    : pal ? PHOTOMETRIC_PALETTE
					    : minwhite ? PHOTOMETRIC_MINISWHITE
						       : PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_XRESOLUTION, 500.0);
	TIFFSetField(t, TIFFTAG_YRESOLUTION, 500.0);
	TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
	static uint16_t map[256];
	for (int i = 0; i < 256; i++)
		map[i] = (uint16_t)(i * 257);
	if (pal)
		TIFFSetField(t, TIFFTAG_COLORMAP, map, map, map);
	int rc = 0;
	unsigned char *row = malloc((size_t)w * spp);
	if (!row) {
		rc = 1;
	} else if (tiled) {
		rc = tiff_tiles(t, px, w, h);
	} else {
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
		for (int y = 0; y < h && !rc; y++) {
			for (int x = 0; x < w; x++)
				for (int c = 0; c < spp; c++) {
					unsigned char v = px[(size_t)y * w + x];
					row[x * spp + c] = minwhite ? (unsigned char)(255 - v) : v;
				}
			rc = TIFFWriteScanline(t, row, (uint32_t)y, 0) < 0;
		}
	}
	free(row);
	TIFFClose(t);
	return rc;
}

/* ---- BMP ----------------------------------------------------------------- */

static void le(unsigned char *p, unsigned v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int write_bmp(const char *out, const unsigned char *px, int w, int h, const char *kind)
{
	int bits = !strcmp(kind, "bmp24") ? 24 : !strcmp(kind, "bmp32") ? 32 : 8;
	int top_down = !strcmp(kind, "bmp8-topdown");
	if (bits == 8 && !top_down && strcmp(kind, "bmp8"))
		return 2;
	const unsigned ncol = bits == 8 ? 256 : 0, off = 14 + 40 + 4 * ncol;
	const size_t stride = ((size_t)w * bits + 31) / 32 * 4;
	unsigned char hdr[14 + 40] = {'B', 'M'};
	le(hdr + 2, (unsigned)(off + stride * h), 4);
	le(hdr + 10, off, 4);
	le(hdr + 14, 40, 4);
	le(hdr + 18, (unsigned)w, 4);
	le(hdr + 22, (unsigned)(top_down ? -h : h), 4);
	le(hdr + 26, 1, 2);
	le(hdr + 28, (unsigned)bits, 2);
	le(hdr + 38, 19685, 4); /* 500 ppi in pixels per metre */
	le(hdr + 42, 19685, 4);
	le(hdr + 46, ncol, 4);
	FILE *f = fopen(out, "wb");
	unsigned char *row = calloc(stride, 1);
	int rc = !f || !row || fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr;
	for (unsigned i = 0; i < ncol && !rc; i++) {
		unsigned char e[4] = {(unsigned char)i, (unsigned char)i, (unsigned char)i, 0};
		rc = fwrite(e, 1, 4, f) != 4;
	}
	for (int r = 0; r < h && !rc; r++) {
		const unsigned char *src = px + (size_t)(top_down ? r : h - 1 - r) * w;
		for (int x = 0; x < w; x++)
			memset(row + (size_t)x * (bits / 8), src[x], (size_t)bits / 8);
		rc = fwrite(row, 1, stride, f) != stride;
	}
	free(row);
	if (f && fclose(f))
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	int w, h;
	if (argc != 4) {
		fprintf(stderr, "usage: reencode IN.pgm OUT KIND\n");
		return 2;
	}
	unsigned char *px = read_pgm(argv[1], &w, &h);
	if (!px)
		return fprintf(stderr, "reencode: %s: not an 8-bit PGM\n", argv[1]), 1;
	int rc = !strncmp(argv[3], "tiff", 4) ? write_tiff(argv[2], px, w, h, argv[3])
					       : write_bmp(argv[2], px, w, h, argv[3]);
	free(px);
	if (rc == 2)
		fprintf(stderr, "reencode: unknown kind %s\n", argv[3]);
	else if (rc)
		fprintf(stderr, "reencode: cannot write %s\n", argv[2]);
	return rc;
}
