/*
 * fuzz_segment.c: segment_open(create=false) attaching to a shm object
 * /fcomet-fuzz-<pid> that holds random bytes must return 0 or -1 and
 * never crash; when it attaches, reading every room, finding rooms, the
 * listener counts and the repair a lock takeover runs must not crash nor
 * hang either.
 *
 * Byte 0, bit 0 set: the object is the rest of the input as it is (bit 1
 * set: with the right magic in front, so the layout checks run).
 * Bit 0 clear: a real segment is created with small sizes (bytes 1-3:
 * rooms, window, max_text), then patched: each patch is a 3-byte offset
 * (modulo the size), a length byte and that many bytes. Bit 2 set: the
 * magic is put back after the patches; bit 3 set: the sizes too.
 *
 * segment_check() waits up to 1 s for a creator to write the magic; the
 * harness makes usleep() return at once so that costs nothing here.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "segment.h"

static char	name[40];
static char	shm[64];

/* segment_check polls for the magic with usleep: no waiting here. */
int
usleep(useconds_t us)
{
	(void)us;
	return 0;
}

static void
cleanup(void)
{
	char	err[256];

	segment_unlink(name, err, sizeof err);
}

static void
exercise(struct segment *sg, struct fuzz_in *in)
{
	struct window_out	o;
	struct window		w;
	uint32_t		n = sg->hdr->nrooms;

	FUZZ_CHECK(window_out_alloc(&o, sg->hdr->cap, sg->hdr->ring) == 0,
	    "out alloc");
#ifdef FUZZ_EXPLORE	/* past the known findings (README), to find others */
	for (uint32_t ri = 0; ri < n; ri++) {
		segment_window(sg, (int)ri, &w);
		w.hdr->first = (w.hdr->first | 1) & EVENT_ID_MAX;
		w.hdr->last &= EVENT_ID_MAX;
	}
#endif
	segment_room_find(sg, "lobby");
	segment_room_find(sg, "a");
	for (uint32_t ri = 0; ri < n && ri < 8; ri++) {
		uint64_t cursor = fuzz_u64(in) & EVENT_ID_MAX;
		if (segment_read(sg, (int)ri, cursor, &o) == 0)
			FUZZ_CHECK(o.n <= sg->hdr->cap &&
			    o.bytes <= sg->hdr->ring, "read %zu events, %zu "
			    "bytes", o.n, o.bytes);
		segment_listeners(sg, (int)ri);
		segment_window(sg, (int)ri, &w);
		window_repair(&w);	/* what segment_recover runs */
		FUZZ_CHECK(segment_read(sg, (int)ri, cursor, &o) == 0,
		    "read after repair: %s", strerror(errno));
	}
	window_out_free(&o);
}

static int
write_raw(const uint8_t *p, size_t len, bool magic)
{
	int	fd = shm_open(shm, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint64_t m = SEGMENT_MAGIC;

	if (fd == -1)
		return -1;
	if (write(fd, p, len) != (ssize_t)len ||
	    (magic && pwrite(fd, &m, sizeof m, 0) != sizeof m)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
make_patched(struct fuzz_in *in, uint8_t flags)
{
	struct segment_opts	 o = { 0 };
	struct segment		 sg;
	struct segment_hdr	 keep;
	char			 err[256];
	char			*base;

	o.name = name;
	o.create = true;
	o.rooms = 1 + fuzz_u8(in) % 4;
	o.window = 1 + fuzz_u8(in) % 16;
	o.max_text = 1 + fuzz_u8(in) % 64;
	FUZZ_CHECK(segment_open(&sg, &o, err, sizeof err) == 0,
	    "create: %s", err);
	base = (char *)sg.hdr;
	keep = *sg.hdr;
	while (in->left >= 4) {
		size_t off = ((size_t)fuzz_u8(in) << 16 | (size_t)fuzz_u8(in) << 8
		    | fuzz_u8(in)) % sg.size;
		size_t len = fuzz_u8(in);
		if (len > in->left)
			len = in->left;
		if (len > sg.size - off)
			len = sg.size - off;
		memcpy(base + off, in->p, len);
		in->p += len;
		in->left -= len;
	}
	if (flags & 4)
		sg.hdr->magic = SEGMENT_MAGIC;
	if (flags & 8) {
		sg.hdr->version = keep.version;
		sg.hdr->nrooms = keep.nrooms;
		sg.hdr->cap = keep.cap;
		sg.hdr->max_text = keep.max_text;
		sg.hdr->ring = keep.ring;
		sg.hdr->size = keep.size;
	}
	segment_close(&sg);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		in = { data, size };
	struct segment_opts	o = { 0 };
	struct segment		sg;
	char			err[256];
	uint8_t			flags = fuzz_u8(&in);
	int			rc;

	if (name[0] == '\0') {
		snprintf(name, sizeof name, "fuzz-%d", (int)getpid());
		snprintf(shm, sizeof shm, "/fcomet-%s", name);
		atexit(cleanup);
	}
	cleanup();
	if (flags & 1)
		rc = write_raw(in.p, in.left, flags & 2);
	else
		rc = make_patched(&in, flags);
	if (rc == -1)
		return 0;
	o.name = name;
	err[0] = '\0';
	rc = segment_open(&sg, &o, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1, "segment_open returned %d", rc);
	FUZZ_CHECK(rc == 0 || err[0] != '\0', "failed without a reason");
	if (rc == 0) {
		exercise(&sg, &in);
		segment_close(&sg);
	}
	cleanup();
	return 0;
}
