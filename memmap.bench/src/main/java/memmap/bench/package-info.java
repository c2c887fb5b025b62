/** JMH benchmarks for memmap; run with {@code ./memmap bench}. */
package memmap.bench;
