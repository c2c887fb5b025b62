/**
 * memmap's core API: the types of gVisor's {@code pkg/sentry/memmap} in Java — how
 * {@link memmap.api.Mappable}s (anonymous memory, host files, shared memory) are mapped
 * into {@link memmap.api.MappingSpace}s (address spaces), translated to
 * {@link memmap.api.MemmapFile} pages, and invalidated.
 *
 * <h2>Numbers</h2>
 * Every address, offset and length is an unsigned 64-bit value in a {@code long}. Ranges
 * ({@link memmap.api.AddrRange}, {@link memmap.api.MappableRange},
 * {@link memmap.api.FileRange}) are half-open and distinct types. Arithmetic that would wrap
 * is reported, never silent.
 *
 * <h2>Errors</h2>
 * Precondition violations (bad arguments) throw {@link java.lang.IllegalArgumentException}
 * naming the argument and its value, and change nothing. Corrupted invariants (e.g. a
 * reference dropped on a page that has none) throw {@link java.lang.IllegalStateException}.
 * Failures a caller handles are {@link memmap.api.MemmapError} values: returned beside a
 * partial result ({@link memmap.api.TranslateResult}, {@link memmap.api.IoResult}), or thrown
 * in a {@link memmap.api.MemmapException} by all-or-nothing operations.
 *
 * <h2>Lock order</h2>
 * From outermost to innermost (a thread holding a lock may only take locks below it):
 * <pre>
 * address space metadataMu
 *   address space mappingMu          (vmas; ≈ Linux mmap_sem)
 *     locks taken by MappingIdentity methods and by Mappable methods other than translate
 *       (a Mappable's "maps" lock guarding its MappingSet)
 *       shm registry lock
 *         shm segment lock
 *       address space activeMu       (pmas, cached translations; ≈ page_table_lock)
 *         locks taken by Mappable.translate
 *           MemmapFile locks          (page reference counts, chunk mappings)
 * </pre>
 * Consequences: a Mappable may call {@link memmap.api.MappingSpace#invalidate} (which takes
 * {@code activeMu}) while holding its maps lock, but must not take its maps lock inside
 * {@code translate}. A MappingIdentity's last {@code decRef} is never called with
 * {@code mappingMu} held: address spaces collect dropped identities and release them after
 * unlocking.
 */
@Export
@Version("1.5.0")
package memmap.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
