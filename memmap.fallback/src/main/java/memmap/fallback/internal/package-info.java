/** The buffered-I/O fallback strategies; private to the bundle, reached through the BufferedIOFallbackStrategy service. */
package memmap.fallback.internal;
