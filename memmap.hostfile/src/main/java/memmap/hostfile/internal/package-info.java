/** Host files as Mappables; private to the bundle, reached through the BackingProvider service. */
package memmap.hostfile.internal;
