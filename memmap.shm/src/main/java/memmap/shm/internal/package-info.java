/** System V and POSIX shared memory; private to the bundle, reached through services. */
package memmap.shm.internal;
