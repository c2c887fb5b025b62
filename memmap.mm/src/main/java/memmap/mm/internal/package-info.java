/** The address space (MemoryManager); private to the bundle. */
package memmap.mm.internal;
