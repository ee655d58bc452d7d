/* Experiment only, never for real use: fsync and fdatasync that return at once, loaded with
 * LD_PRELOAD by `throughput.py --no-fsync` to show how much of a figure the disk's flush costs.
 * Files written this way are not durable. */
int fsync(int fd) { (void)fd; return 0; }
int fdatasync(int fd) { (void)fd; return 0; }
