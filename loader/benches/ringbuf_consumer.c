// The baseline of the ring buffer benchmark: a minimal libbpf consumer.
// Opens the ring buffer map by id (argv[1]); for each line "N" on stdin,
// drains N records with ring_buffer__poll and prints the nanoseconds it
// took. Built by benches/maps.rs with `cc -O2 ... -lbpf`.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int on_record(void *ctx, void *data, size_t len) {
	(void)data;
	(void)len;
	++*(long *)ctx;
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 2) return 2;
	int fd = bpf_map_get_fd_by_id((unsigned)atoi(argv[1]));
	if (fd < 0) { perror("bpf_map_get_fd_by_id"); return 1; }
	long count = 0;
	struct ring_buffer *rb = ring_buffer__new(fd, on_record, &count, NULL);
	if (!rb) { perror("ring_buffer__new"); return 1; }
	long want;
	while (scanf("%ld", &want) == 1) {
		struct timespec a, b;
		count = 0;
		clock_gettime(CLOCK_MONOTONIC, &a);
		while (count < want) {
			if (ring_buffer__poll(rb, 100) < 0) { perror("poll"); return 1; }
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%ld\n", (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
		fflush(stdout);
	}
	ring_buffer__free(rb);
	return 0;
}
