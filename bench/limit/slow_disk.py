#!/usr/bin/python3
"""A slow disk for the benches: `root` mounted at `mountpoint` through FUSE, every byte written
passing one shared throttle of --mbps MB/s (a NAS, or a disk busy with something else). Reads,
renames, fsync and the rest pass straight through. Runs in the foreground until unmounted
(`umount MOUNTPOINT`) or killed.

Needs fusepy (pip) and libfuse2 (apt); as root, no fusermount is needed.

Run:  bench/limit/slow_disk.py ROOT MOUNTPOINT --mbps 20
"""

import argparse
import errno
import os
import threading
import time

from fuse import FUSE, FuseOSError, Operations


class Throttled(Operations):
    def __init__(self, root, mbps):
        self.root = root
        self.rate = mbps * 1e6
        self.queue_lock = threading.Lock()
        self.free_at = time.monotonic()

    def full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def access(self, path, mode):
        if not os.access(self.full(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        try:
            info = os.lstat(self.full(path))
        except OSError as error:
            raise FuseOSError(error.errno)
        return {key: getattr(info, key) for key in (
            "st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self.full(path))

    def statfs(self, path):
        info = os.statvfs(self.full(path))
        return {key: getattr(info, key) for key in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize",
            "f_namemax")}

    def call(self, function, *arguments):
        try:
            return function(*arguments)
        except OSError as error:
            raise FuseOSError(error.errno)

    def mkdir(self, path, mode):
        return self.call(os.mkdir, self.full(path), mode)

    def rmdir(self, path):
        return self.call(os.rmdir, self.full(path))

    def unlink(self, path):
        return self.call(os.unlink, self.full(path))

    def rename(self, old, new):
        return self.call(os.rename, self.full(old), self.full(new))

    def chmod(self, path, mode):
        return self.call(os.chmod, self.full(path), mode)

    def utimens(self, path, times=None):
        return self.call(os.utime, self.full(path), times)

    def truncate(self, path, length, fh=None):
        return self.call(os.truncate, self.full(path), length)

    def open(self, path, flags):
        return self.call(os.open, self.full(path), flags)

    def create(self, path, mode, fi=None):
        return self.call(os.open, self.full(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        return self.call(os.pread, fh, size, offset)

    def write(self, path, data, offset, fh):
        # One queue for every writer: each write waits until the bytes before it have "passed".
        with self.queue_lock:
            now = time.monotonic()
            start = max(now, self.free_at)
            self.free_at = start + len(data) / self.rate
        if start > now:
            time.sleep(start - now)
        return self.call(os.pwrite, fh, data, offset)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return self.call(os.close, fh)

    def fsync(self, path, datasync, fh):
        return self.call(os.fdatasync if datasync else os.fsync, fh)

    def fsyncdir(self, path, datasync, fh):
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root")
    parser.add_argument("mountpoint")
    parser.add_argument("--mbps", type=float, default=20, help="MB/s for all writes together")
    arguments = parser.parse_args()
    FUSE(Throttled(os.path.abspath(arguments.root), arguments.mbps), arguments.mountpoint, foreground=True,
         nothreads=False, big_writes=True)


if __name__ == "__main__":
    main()
