/**
 * The Linux system calls memmap's provider bundles need (memfd_create, ftruncate, fallocate,
 * madvise, mincore, mlock, fstat, open, unlink, close), through the Foreign Function &amp;
 * Memory API. Errors come back as {@link memmap.api.Errno}s in a
 * {@link memmap.api.MemmapException}. Bundles calling these need native access
 * ({@code --enable-native-access=ALL-UNNAMED}).
 */
@Export
@Version("1.0.0")
package memmap.posix;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
