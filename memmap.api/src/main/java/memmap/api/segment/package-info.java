/**
 * The ordered segment set every memmap structure is built on (gVisor's {@code pkg/segment}):
 * mapping sets, vma and pma sets, page reference counts, dirty sets.
 */
@Export
@Version("1.0.0")
package memmap.api.segment;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
