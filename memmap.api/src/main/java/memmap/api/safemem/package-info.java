/**
 * safemem: byte sequences over {@link java.lang.foreign.MemorySegment} that copies run
 * between, fault-tolerantly where the memory may fault (gVisor's {@code pkg/safemem}).
 */
@Export
@Version("1.1.0")
package memmap.api.safemem;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
