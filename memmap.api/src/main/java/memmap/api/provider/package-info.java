/**
 * The services through which memmap's bundles find each other: {@link
 * memmap.api.provider.BackingProvider} (anonymous memory, host files, shared memory) and
 * {@link memmap.api.provider.BufferedIOFallbackStrategy}.
 */
@Export
@Version("1.4.0")
package memmap.api.provider;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
