// glibc's allocator statistics (mallinfo2, malloc_trim), which Swift's Glibc module
// does not import: malloc.h is not among its headers.
#include <malloc.h>
