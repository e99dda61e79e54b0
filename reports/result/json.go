package result

import (
	"encoding/json"
	"time"
)

// In JSON, durations are Go duration strings ("1.5s", which
// time.ParseDuration reads back) rather than raw nanoseconds, and times are
// RFC 3339.

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = jsonDuration(v)
	return err
}

// optional is nil for zero, so that omitempty leaves it out.
func optional(d time.Duration) *jsonDuration {
	if d == 0 {
		return nil
	}
	j := jsonDuration(d)
	return &j
}

func (c Case) MarshalJSON() ([]byte, error) {
	type plain Case
	return json.Marshal(struct {
		plain
		Duration jsonDuration `json:"duration"`
	}{plain(c), jsonDuration(c.Duration)})
}

func (c *Case) UnmarshalJSON(b []byte) error {
	type plain Case
	var aux struct {
		plain
		Duration jsonDuration `json:"duration"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Case(aux.plain)
	c.Duration = time.Duration(aux.Duration)
	return nil
}

func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		TimeToConverge *jsonDuration `json:"timeToConverge,omitempty"`
		Deadline       jsonDuration  `json:"deadline"`
	}{plain(s), optional(s.TimeToConverge), jsonDuration(s.Deadline)})
}

func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step
	var aux struct {
		plain
		TimeToConverge jsonDuration `json:"timeToConverge"`
		Deadline       jsonDuration `json:"deadline"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*s = Step(aux.plain)
	s.TimeToConverge, s.Deadline = time.Duration(aux.TimeToConverge), time.Duration(aux.Deadline)
	return nil
}

func (c Cell) MarshalJSON() ([]byte, error) {
	type plain Cell
	aux := struct {
		plain
		TimeToEnforce *jsonDuration `json:"timeToEnforce,omitempty"`
	}{plain: plain(c)}
	if c.TimeToEnforce != nil {
		d := jsonDuration(*c.TimeToEnforce)
		aux.TimeToEnforce = &d
	}
	return json.Marshal(aux)
}

func (c *Cell) UnmarshalJSON(b []byte) error {
	type plain Cell
	var aux struct {
		plain
		TimeToEnforce *jsonDuration `json:"timeToEnforce"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = Cell(aux.plain)
	if aux.TimeToEnforce != nil {
		d := time.Duration(*aux.TimeToEnforce)
		c.TimeToEnforce = &d
	}
	return nil
}

func (p Preflight) MarshalJSON() ([]byte, error) {
	type plain Preflight
	return json.Marshal(struct {
		plain
		Duration         jsonDuration  `json:"duration"`
		CanaryEnforcedIn *jsonDuration `json:"canaryEnforcedIn,omitempty"`
	}{plain(p), jsonDuration(p.Duration), optional(p.CanaryEnforcedIn)})
}

func (p *Preflight) UnmarshalJSON(b []byte) error {
	type plain Preflight
	var aux struct {
		plain
		Duration         jsonDuration `json:"duration"`
		CanaryEnforcedIn jsonDuration `json:"canaryEnforcedIn"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*p = Preflight(aux.plain)
	p.Duration, p.CanaryEnforcedIn = time.Duration(aux.Duration), time.Duration(aux.CanaryEnforcedIn)
	return nil
}
