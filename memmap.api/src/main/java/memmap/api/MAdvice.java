package memmap.api;

/** madvise advice (Linux's values). */
public enum MAdvice {
    NORMAL(0), RANDOM(1), SEQUENTIAL(2), WILLNEED(3), DONTNEED(4), REMOVE(9), DONTFORK(10), DOFORK(11),
    MERGEABLE(12), UNMERGEABLE(13), HUGEPAGE(14), NOHUGEPAGE(15), DONTDUMP(16), DODUMP(17), HWPOISON(100);

    private final int value;

    MAdvice(int value) {
        this.value = value;
    }

    /** Linux's number for this advice. */
    public int value() {
        return value;
    }
}
