//go:build s3ocr_static

package tesseract

// The Lambda build links Tesseract and Leptonica statically (make
// build-ProcessFunction), so the function runs on Amazon Linux 2023 whatever
// that system's libraries are. Debian's libtesseract.a refers to libcurl (for
// images given as URLs) and libarchive (for zipped traineddata), neither of
// which this service uses and whose static closures (TLS, Kerberos, LDAP, …)
// would more than double the binary. These stubs stand in for them: they
// report failure, and Tesseract then falls back to reading traineddata as a
// plain file, which is what the layer ships. Nothing else calls them.

/*
#include <stddef.h>
#include <sys/types.h>

void *curl_easy_init(void) { return NULL; }
int curl_easy_setopt(void *h, int opt, ...) { return 1; }
int curl_easy_perform(void *h) { return 1; }
void curl_easy_cleanup(void *h) {}
const char *curl_easy_strerror(int code) { return "URL input is not supported in this build"; }

void *archive_read_new(void) { return NULL; }
int archive_read_support_filter_all(void *a) { return -30; }
int archive_read_support_format_all(void *a) { return -30; }
int archive_read_open_filename(void *a, const char *f, size_t n) { return -30; }
int archive_read_next_header(void *a, void **e) { return 1; }
ssize_t archive_read_data(void *a, void *buf, size_t n) { return -30; }
int archive_read_free(void *a) { return 0; }
const char *archive_entry_pathname(void *e) { return NULL; }
long long archive_entry_size(void *e) { return 0; }
*/
import "C"
