/**
 * placeholder
 */
@Export
@Version("1.0.0")
package memmap.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
