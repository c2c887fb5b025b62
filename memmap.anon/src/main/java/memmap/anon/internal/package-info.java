/** The memory file and shared anonymous memory; private to the bundle, reached through services. */
package memmap.anon.internal;
