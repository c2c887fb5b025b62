package memmap.api.provider;

import java.nio.file.Path;
import java.util.Objects;

/** What a {@link BackingProvider} is asked to create. One record per {@link BackingKind}. */
public sealed interface BackingRequest {
    /** The kind of provider that serves this request. */
    BackingKind kind();

    /**
     * Shared anonymous memory of {@code length} bytes (MAP_SHARED | MAP_ANONYMOUS).
     *
     * @param length bytes, page-aligned, non-zero
     */
    record Anonymous(long length) implements BackingRequest {
        public Anonymous {
            if (length == 0 || (length & (memmap.api.Pages.PAGE_SIZE - 1)) != 0) {
                throw new IllegalArgumentException("length = " + memmap.api.Pages.hex(length) + " must be a non-zero multiple of the page size");
            }
        }

        @Override
        public BackingKind kind() {
            return BackingKind.ANONYMOUS;
        }
    }

    /**
     * A host file.
     *
     * @param path the file (relative paths resolve against the provider's root directory)
     * @param writable whether shared writable mappings will be made
     */
    record HostFile(Path path, boolean writable) implements BackingRequest {
        public HostFile {
            Objects.requireNonNull(path, "path");
            if (path.toString().isEmpty()) {
                throw new IllegalArgumentException("path = \"\" is empty: name a file");
            }
        }

        @Override
        public BackingKind kind() {
            return BackingKind.HOST_FILE;
        }
    }

    /**
     * A POSIX named shared-memory segment ({@code shm_open}); System V segments are reached
     * through the shared-memory provider's own registry.
     *
     * @param name the segment name, without {@code /}
     * @param size bytes; the segment is grown to at least this size if non-zero
     * @param create whether a missing segment is created ({@code O_CREAT}); without it, a
     *     name that does not exist is ENOENT
     */
    record SharedMemory(String name, long size, boolean create) implements BackingRequest {
        public SharedMemory {
            Objects.requireNonNull(name, "name");
        }

        /** A segment created if missing. */
        public SharedMemory(String name, long size) {
            this(name, size, true);
        }

        @Override
        public BackingKind kind() {
            return BackingKind.SHARED_MEMORY;
        }
    }
}
