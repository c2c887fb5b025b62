/** Gogo commands and the script runner; private to the bundle. */
package memmap.shell.internal;
