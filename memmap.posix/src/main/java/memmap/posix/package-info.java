/**
 * The Linux system calls memmap's provider bundles need (memfd_create, ftruncate, fallocate,
 * madvise, mincore, mlock, fstat, open, openat, openat2, unlink, close), through the Foreign
 * Function &amp; Memory API; {@link memmap.posix.Beneath} opens paths confined to a directory;
 * {@link memmap.posix.Settings} checks a component's configuration for the bundles;
 * {@link memmap.posix.Logs} gives each bundle logs that write to the OSGi Log Service when its
 * components have one, and to {@code System.Logger} otherwise. Errors come back as {@link memmap.api.Errno}s in a
 * {@link memmap.api.MemmapException}. Bundles calling these need native access
 * ({@code --enable-native-access=ALL-UNNAMED}).
 */
@Export
@Version("1.5.0")
package memmap.posix;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
