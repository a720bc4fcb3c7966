package bench

import (
	"fmt"
	"strings"
)

// Public prices for item 7 of issue 7 (AWS price pages, us-east-1): Lambda
// duration per GB-second by architecture and per request, and Amazon
// Textract's DetectDocumentText per page (first million pages a month).
const (
	LambdaX86PerGBSecond   = 0.0000166667
	LambdaArm64PerGBSecond = 0.0000133334
	LambdaPerRequest       = 0.20 / 1e6
	TextractPer1000Pages   = 1.50
)

// MBPerVCPU is the memory size at which Lambda gives a function one whole
// vCPU; CPU is allotted in proportion to memory below and above it.
const MBPerVCPU = 1769

// Cost is the Lambda cost of reading pages, worked from the CPU time a page
// takes, with every step kept so the report can show the arithmetic.
type Cost struct {
	Arch              string
	CPUSecondsPerPage float64
	MemoryMB          int
	VCPUs             float64 // MemoryMB / MBPerVCPU
	// SecondsPerPage is the billed duration of a page. One page runs on one
	// thread (OMP_THREAD_LIMIT=1), so it uses at most one vCPU: below
	// MBPerVCPU it gets a share of one and takes longer, above it the extra
	// CPU sits idle.
	SecondsPerPage   float64
	GBSecondsPerPage float64
	PricePerGBSecond float64
	DurationPer1000  float64 // dollars
	RequestsPer1000  float64 // dollars, one invocation per page (one-page documents)
	TotalPer1000     float64
	TextractRatio    float64 // TotalPer1000 / TextractPer1000Pages
}

// LambdaCost works out the cost of 1,000 one-page documents read by a
// function of memoryMB on arch ("x86_64" or "arm64") when a page takes
// cpuSecondsPerPage of CPU. It assumes arm64 needs the same CPU time as the
// machine the time was measured on, which only a measurement on Graviton
// can confirm.
func LambdaCost(cpuSecondsPerPage float64, memoryMB int, arch string) Cost {
	c := Cost{Arch: arch, CPUSecondsPerPage: cpuSecondsPerPage, MemoryMB: memoryMB, PricePerGBSecond: LambdaX86PerGBSecond}
	if arch == "arm64" {
		c.PricePerGBSecond = LambdaArm64PerGBSecond
	}
	c.VCPUs = float64(memoryMB) / MBPerVCPU
	c.SecondsPerPage = cpuSecondsPerPage / min(1, c.VCPUs)
	c.GBSecondsPerPage = c.SecondsPerPage * float64(memoryMB) / 1024
	c.DurationPer1000 = 1000 * c.GBSecondsPerPage * c.PricePerGBSecond
	c.RequestsPer1000 = 1000 * LambdaPerRequest
	c.TotalPer1000 = c.DurationPer1000 + c.RequestsPer1000
	c.TextractRatio = c.TotalPer1000 / TextractPer1000Pages
	return c
}

// Arithmetic shows how the cost was worked out, one step a line.
func (c Cost) Arithmetic() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d MB: %d / %d = %.2f vCPU\n", c.Arch, c.MemoryMB, c.MemoryMB, MBPerVCPU, c.VCPUs)
	if c.VCPUs >= 1 {
		fmt.Fprintf(&b, "duration per page   = %.3f CPU-s (one thread uses at most one vCPU) = %.3f s\n", c.CPUSecondsPerPage, c.SecondsPerPage)
	} else {
		fmt.Fprintf(&b, "duration per page   = %.3f CPU-s / %.2f vCPU = %.3f s\n", c.CPUSecondsPerPage, c.VCPUs, c.SecondsPerPage)
	}
	fmt.Fprintf(&b, "GB-s per page       = %.3f s × %d/1024 GB = %.4f GB-s\n", c.SecondsPerPage, c.MemoryMB, c.GBSecondsPerPage)
	fmt.Fprintf(&b, "duration, 1,000 pp. = 1,000 × %.4f GB-s × $%.10f = $%.4f\n", c.GBSecondsPerPage, c.PricePerGBSecond, c.DurationPer1000)
	fmt.Fprintf(&b, "requests, 1,000 pp. = 1,000 × $0.20 / 1,000,000 = $%.4f\n", c.RequestsPer1000)
	fmt.Fprintf(&b, "total per 1,000     = $%.4f   (Textract DetectDocumentText: $%.2f, %.0f times as much)\n",
		c.TotalPer1000, TextractPer1000Pages, 1/c.TextractRatio)
	return b.String()
}
