// Package portable shows that the Lambda artifacts need nothing from the
// machine they run on: the process function's bootstrap and the Tesseract
// layer, built by the Makefile exactly as `sam build` builds them, run in an
// otherwise empty root filesystem (no /lib, no /usr) under a Lambda Runtime
// API harness, read real documents from the local MinIO and store their
// results in the local dynalite. Amazon Linux 2023's libraries are older
// than Debian's, so an artifact that used the build machine's libraries
// would fail there; in an empty root it fails here first.
package portable

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/runtimeapi"
	"github.com/s3ocr/s3ocr/internal/service"
)

// lambdaLimit is Lambda's limit on a function and its layers, unzipped.
const lambdaLimit = 250 << 20

// skipOrFail skips when the machine cannot run the test, or fails under
// S3OCR_REQUIRE_TOOLS=1 (make test), where make tools installed everything.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// build runs the Makefile's SAM build targets into dir, as sam build does.
func build(t testing.TB, root, dir, goarch string) (fn, layer string) {
	t.Helper()
	fn, layer = filepath.Join(dir, "process"), filepath.Join(dir, "layer")
	for _, target := range []string{"build-ProcessFunction ARTIFACTS_DIR=" + fn, "build-TesseractLayer ARTIFACTS_DIR=" + layer} {
		cmd := exec.Command("make", append([]string{"-s", "-C", root, "GOARCH=" + goarch}, strings.Fields(target)...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	return fn, layer
}

// emptyRoot makes a root filesystem holding only what Lambda gives a
// provided.al2023 function of ours: the function at /var/task, the layer at
// /opt, a writable /tmp, and /dev/null.
func emptyRoot(t testing.TB, fn, layer string) string {
	t.Helper()
	root := t.TempDir()
	copyTree(t, fn, filepath.Join(root, "var", "task"))
	copyTree(t, layer, filepath.Join(root, "opt"))
	for _, d := range []string{"tmp", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o1777); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mknod(filepath.Join(root, "dev", "null"), syscall.S_IFCHR|0o666, int(mkdev(1, 3))); err != nil {
		t.Fatalf("mknod /dev/null: %v", err)
	}
	var found []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != root && filepath.Dir(p) == root {
			found = append(found, d.Name())
		}
		return nil
	})
	if strings.Join(found, " ") != "dev opt tmp var" {
		t.Fatalf("root holds %v", found)
	}
	return root
}

func mkdev(major, minor uint64) uint64 {
	return (major&0xfff)<<8 | (major&^0xfff)<<32 | minor&0xff | (minor&^0xff)<<12
}

func copyTree(t testing.TB, from, to string) {
	t.Helper()
	if out, err := exec.Command("mkdir", "-p", to).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v %s", from, err, out)
	}
}

func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// interpreter is an ELF executable's PT_INTERP, "" for a static one.
func interpreter(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}

// arch is a Lambda architecture the artifacts are built for.
type arch struct {
	goarch  string
	machine elf.Machine
	loader  string // the layer programs' ELF interpreter
}

var arches = []arch{
	{"amd64", elf.EM_X86_64, "/opt/lib/s3ocr/ld-linux-x86-64.so.2"},
	// Cross-built, and run here under qemu-user through binfmt_misc
	// (scripts/arm64-sysroot sets both up).
	{"arm64", elf.EM_AARCH64, "/opt/lib/s3ocr/ld-linux-aarch64.so.1"},
}

// forEachArch runs test once per architecture, as subtests.
func forEachArch(t *testing.T, test func(t *testing.T, a arch)) {
	for _, a := range arches {
		t.Run(a.goarch, func(t *testing.T) { test(t, a) })
	}
}

func TestArtifacts_AreSelfContainedAndSmall(t *testing.T) {
	forEachArch(t, func(t *testing.T, a arch) {
		_, fn, layer := artifacts(t, a)
		bootstrap := filepath.Join(fn, "bootstrap")
		if m := machine(t, bootstrap); m != a.machine {
			t.Errorf("bootstrap is for %v, want %v", m, a.machine)
		}
		if in := interpreter(t, bootstrap); in != "" {
			t.Errorf("bootstrap asks for the dynamic loader %s; it must be static", in)
		}
		for _, tool := range layerTools(t) {
			path := filepath.Join(layer, "bin", tool)
			if in := interpreter(t, path); in != a.loader || machine(t, path) != a.machine {
				t.Errorf("layer's %s: %v with loader %q, want %v with the layer's own %s", tool, machine(t, path), in, a.machine, a.loader)
			}
		}
		for _, lang := range []string{"eng", "osd"} {
			if _, err := os.Stat(filepath.Join(layer, "share", "tessdata", lang+".traineddata")); err != nil {
				t.Errorf("layer lacks %s.traineddata", lang)
			}
		}
		fnSize, layerSize := treeSize(t, fn), treeSize(t, layer)
		t.Logf("%s unzipped: function %.1f MB, layer %.1f MB, together %.1f MB of Lambda's 250 MB",
			a.goarch, float64(fnSize)/1e6, float64(layerSize)/1e6, float64(fnSize+layerSize)/1e6)
		if fnSize+layerSize > lambdaLimit/2 {
			t.Errorf("function and layer take %d bytes unzipped, over half of Lambda's limit", fnSize+layerSize)
		}
	})
}

func machine(t testing.TB, path string) elf.Machine {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Machine
}

// built holds each architecture's artifacts, built once for the package.
var built = map[string][2]string{}

// artifacts builds the function and the layer for a (once), or skips when
// the machine cannot.
func artifacts(t testing.TB, a arch) (root, fn, layer string) {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"make", "patchelf", "readelf"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "portable: %s missing (make tools installs it)", tool)
		}
	}
	if a.goarch == "arm64" {
		if why := arm64Missing(); why != "" {
			skipOrFail(t, "portable: arm64: %s (scripts/arm64-sysroot sets it up; make tools runs it)", why)
		}
	}
	if b, ok := built[a.goarch]; ok {
		return root, b[0], b[1]
	}
	fn, layer = build(t, root, tempDirs.new(t), a.goarch)
	built[a.goarch] = [2]string{fn, layer}
	return root, fn, layer
}

// arm64Missing says what the arm64 build or run lacks, "" when nothing.
func arm64Missing() string {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		return "no cross compiler aarch64-linux-gnu-gcc"
	}
	sysroot := os.Getenv("S3OCR_ARM64_SYSROOT")
	if sysroot == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return err.Error()
		}
		sysroot = filepath.Join(cache, "s3ocr", "sysroot-arm64")
	}
	if _, err := os.Stat(filepath.Join(sysroot, ".s3ocr-packages")); err != nil {
		return "no arm64 sysroot at " + sysroot
	}
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/qemu-aarch64")
	if err != nil || !strings.HasPrefix(string(b), "enabled") {
		return "qemu-aarch64 is not registered with binfmt_misc"
	}
	return ""
}

// tempDirs are removed by TestMain, after every test that shares them.
var tempDirs dirs

type dirs []string

func (d *dirs) new(t testing.TB) string {
	dir, err := os.MkdirTemp("", "s3ocr-portable-")
	if err != nil {
		t.Fatal(err)
	}
	*d = append(*d, dir)
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// TestLayerTools_RunInAnEmptyRoot runs each program the layer carries, on a
// real document, with nothing but the layer at /opt.
func TestLayerTools_RunInAnEmptyRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "portable: chroot needs root")
	}
	forEachArch(t, testLayerTools)
}

func testLayerTools(t *testing.T, a arch) {
	moduleRoot, fn, layer := artifacts(t, a)
	rootfs := emptyRoot(t, fn, layer)
	copyTree(t, filepath.Join(moduleRoot, "testdata"), filepath.Join(rootfs, "tmp", "in"))
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"/opt/bin/pdfinfo", "/tmp/in/text.pdf"}, "Pages:"},
		{[]string{"/opt/bin/pdftotext", "-raw", "/tmp/in/text.pdf", "-"}, "quick brown fox"},
		{[]string{"/opt/bin/pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", "/tmp/in/scan.pdf"}, "P5\n"},
		{[]string{"/opt/bin/tiffcp", "-c", "lzw", "/tmp/in/pages.tif", "/tmp/out.tif"}, ""},
	} {
		cmd := exec.Command(tc.args[0], tc.args[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs}
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/opt/bin", "LD_LIBRARY_PATH=/lib64:/usr/lib64:/opt/lib"} // Lambda's order
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: %v, stdout %.80q, stderr %s", strings.Join(tc.args, " "), err, out, stderr.String())
		}
	}
	if st, err := os.Stat(filepath.Join(rootfs, "tmp", "out.tif")); err != nil || st.Size() == 0 {
		t.Errorf("tiffcp wrote nothing: %v", err)
	}
}

// TestBootstrap_RunsInAnEmptyRootAgainstRealServers is the portability proof
// the packaging issue asks for.
//
// Each architecture reads the documents on a stack of its own, so that no
// result is found cached; arm64 runs under qemu-user and must read the same
// text as amd64.
func TestBootstrap_RunsInAnEmptyRootAgainstRealServers(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "portable: chroot needs root")
	}
	texts := map[string][]string{}
	forEachArch(t, func(t *testing.T, a arch) { texts[a.goarch] = testBootstrap(t, a) })
	if amd, arm := texts["amd64"], texts["arm64"]; amd != nil && arm != nil && !slices.Equal(amd, arm) {
		t.Errorf("arm64 read other text than amd64:\namd64 %q\narm64 %q", amd, arm)
	}
}

// testBootstrap returns the texts read, one per document.
func testBootstrap(t *testing.T, a arch) []string {
	moduleRoot, fn, layer := artifacts(t, a)
	rootfs := emptyRoot(t, fn, layer)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stack, err := localstack.Start(ctx, localstack.Options{
		Log:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Parameters: map[string]string{"LogLevel": "warn"},
	})
	if err != nil {
		if errors.Is(err, localstack.ErrToolMissing) {
			skipOrFail(t, "portable: %v", err)
		}
		t.Fatal(err)
	}
	defer stack.Close()

	// The chrooted function reads objects under its own prefix, where the
	// stack's in-process functions receive no notifications: every result
	// below was computed inside the empty root.
	docs := []struct{ file, contentType, want string }{
		{"hello.png", "image/png", "Hello, world"},
		{"scan.pdf", "application/pdf", "quick brown fox"}, // pdftoppm from the layer, then OCR
		{"text.pdf", "application/pdf", "quick brown fox"}, // pdftotext from the layer
		{"pages.tif", "image/tiff", "Hello, world"},        // several pages
	}
	var objs []object
	ids := make([]string, len(docs))
	for i, d := range docs {
		content, err := os.ReadFile(filepath.Join(moduleRoot, "testdata", d.file))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = createUpload(t, stack.APIURL, d.file, d.contentType, len(content))
		key := prefix + ids[i]
		if _, err := stack.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(stack.Bucket), Key: aws.String(key),
			Body: bytes.NewReader(content), ContentType: aws.String(d.contentType),
		}); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, object{key, len(content)})
	}
	payload, err := json.Marshal(s3Event(stack, objs...))
	if err != nil {
		t.Fatal(err)
	}

	env := functionEnv(stack)
	var logs bytes.Buffer
	res := invokeInRoot(t, ctx, rootfs, env, payload, &logs)
	texts := make([]string, len(docs))
	t.Logf("function log:\n%s", logs.String())
	if res != "" {
		t.Fatalf("invocation: %s", res)
	}

	for i, d := range docs {
		st := status(t, stack.APIURL, ids[i])
		if st.Status != "done" || st.Result == nil {
			t.Errorf("%s: %s %+v", d.file, st.Status, st.Error)
			continue
		}
		if st.Cached {
			t.Errorf("%s: cached; the test needs a result computed in the empty root", d.file)
		}
		if !strings.Contains(st.Result.Text, d.want) {
			t.Errorf("%s: text %q lacks %q", d.file, st.Result.Text, d.want)
		}
		t.Logf("%s: %d pages, confidence %.2f, engine %s %s", d.file, len(st.Result.Pages), st.Result.Confidence, st.Result.Engine.Name, st.Result.Engine.Version)
		texts[i] = st.Result.Text
	}
	return texts
}

func createUpload(t testing.TB, api, filename, contentType string, size int) string {
	t.Helper()
	body, _ := json.Marshal(service.CreateUploadRequest{Filename: filename, ContentType: contentType, Size: int64(size), Languages: []string{"eng"}})
	resp, err := http.Post(api+"/uploads", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out service.CreatedUpload
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /uploads = %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.UploadID
}

func status(t testing.TB, api, id string) service.UploadStatus {
	t.Helper()
	resp, err := http.Get(api + "/uploads/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st service.UploadStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /uploads/%s (%d): %v", id, resp.StatusCode, err)
	}
	return st
}

// invokeInRoot runs /var/task/bootstrap chrooted into rootfs under the
// Runtime API harness with one event; it returns "" on success, else what
// went wrong.
func invokeInRoot(t *testing.T, ctx context.Context, rootfs string, env map[string]string, payload []byte, logs io.Writer) string {
	t.Helper()
	fn := &runtimeapi.Function{
		Path: "/var/task/bootstrap", Chroot: rootfs, Env: env, Name: "ProcessFunction",
		MemoryMB: 1769, Timeout: 3 * time.Minute, Stdout: logs, Stderr: logs,
	}
	defer fn.Close()
	res, err := fn.Invoke(ctx, payload)
	if err != nil {
		return err.Error()
	}
	t.Logf("cold start: init %v, first event %v", res.InitDuration, res.Duration)
	if res.Error != nil {
		return res.Error.Error()
	}
	if string(res.Payload) != "null" {
		return fmt.Sprintf("response %q, want null", res.Payload)
	}
	return ""
}

// layerTools are the programs layers/tesseract/Makefile bundles (its TOOLS
// line), the one list of them.
func layerTools(t *testing.T) []string {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "layers", "tesseract", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "TOOLS := "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("layers/tesseract/Makefile has no TOOLS := line")
	return nil
}
