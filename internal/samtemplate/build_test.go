package samtemplate_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// TestBuild_EveryMakefileResourceBuilds runs what `sam build` runs for each
// resource with BuildMethod makefile: `make build-<LogicalId>` with
// ARTIFACTS_DIR set. Functions must leave an executable bootstrap, the layer
// its language data under share/tessdata (mounted at /opt). Both are built
// for the template's default Architecture: SAM does not tell the Makefile
// which architecture to build, so the Makefile's default must agree.
func TestBuild_EveryMakefileResourceBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every artifact")
	}
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl := load(t)
	want := map[string]elf.Machine{"x86_64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[samtemplate.Str(samtemplate.Get(tpl.Parameters["Architecture"], "Default"))]
	if want == 0 {
		t.Fatalf("template's Architecture parameter has no known default: %v", tpl.Parameters["Architecture"])
	}
	isFor := func(t *testing.T, path string) {
		t.Helper()
		f, err := elf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer f.Close()
		if f.Machine != want {
			t.Errorf("%s is for %v; the template's default Architecture needs %v", filepath.Base(path), f.Machine, want)
		}
	}
	n := 0
	for name, r := range tpl.Resources {
		if r.Metadata["BuildMethod"] != "makefile" {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command("make", "--no-print-directory", "build-"+name, "ARTIFACTS_DIR="+dir)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", name, err, out)
			}
			switch r.Type {
			case "AWS::Serverless::Function":
				isFor(t, filepath.Join(dir, "bootstrap"))
				if st, _ := os.Stat(filepath.Join(dir, "bootstrap")); st.Mode()&0o111 == 0 {
					t.Fatal("bootstrap is not executable")
				}
			case "AWS::Serverless::LayerVersion":
				for _, lang := range []string{"eng", "osd"} {
					if _, err := os.Stat(filepath.Join(dir, "share", "tessdata", lang+".traineddata")); err != nil {
						t.Errorf("layer lacks %s: %v", lang, err)
					}
				}
				isFor(t, filepath.Join(dir, "bin", "pdftoppm"))
			}
		})
	}
	if n != 4 {
		t.Fatalf("%d resources built with the makefile method, want 4 (three functions, one layer)", n)
	}
}
