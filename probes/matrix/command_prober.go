package matrix

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// CommandProber runs `probe batch` through a command per source pod, such
// as `ip netns exec NS probe batch` or `kubectl exec -i POD -- probe batch`:
// the probes go to its stdin as a JSON array, Results come back as JSON
// lines on its stdout.
type CommandProber struct {
	// Command returns the argv that runs `probe batch` inside source.
	Command func(source string) ([]string, error)
}

// ProbeBatch implements Prober.
func (p CommandProber) ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error) {
	argv, err := p.Command(source)
	if err != nil {
		return nil, fmt.Errorf("command for %s: %w", source, err)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("command for %s is empty", source)
	}
	input, err := json.Marshal(probes)
	if err != nil {
		return nil, fmt.Errorf("encoding probes for %s: %w", source, err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return DecodeResults(&stdout)
}

// DecodeResults reads the JSON lines `probe batch` writes.
func DecodeResults(r io.Reader) ([]agent.Result, error) {
	var results []agent.Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var res agent.Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return results, fmt.Errorf("probe batch output line %d: %w", line, err)
		}
		results = append(results, res)
	}
	return results, sc.Err()
}
