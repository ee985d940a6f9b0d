package fsm

// Environment is a Junction environment. Its value is a stable string.
type Environment string

// The Junction environments.
const (
	Production Environment = "production"
	Sandbox    Environment = "sandbox"
	Dev        Environment = "dev"
)

// ParseEnvironment parses an environment name.
func ParseEnvironment(s string) (Environment, bool) {
	switch Environment(s) {
	case Production, Sandbox, Dev:
		return Environment(s), true
	}
	return "", false
}

// Environments returns every environment.
func Environments() []Environment { return []Environment{Production, Sandbox, Dev} }

// String returns the stable name of the environment.
func (e Environment) String() string { return string(e) }

// KnownOrNone reports whether e is one of the environments or "" (none):
// what a stored record that may have no environment accepts.
func (e Environment) KnownOrNone() bool {
	_, ok := ParseEnvironment(string(e))
	return ok || e == ""
}

// Region is a Junction region. Its value is a stable string.
type Region string

// The Junction regions.
const (
	US Region = "us"
	EU Region = "eu"
)

// ParseRegion parses a region name.
func ParseRegion(s string) (Region, bool) {
	switch Region(s) {
	case US, EU:
		return Region(s), true
	}
	return "", false
}

// Regions returns every region.
func Regions() []Region { return []Region{US, EU} }

// String returns the stable name of the region.
func (r Region) String() string { return string(r) }

// KnownOrNone reports whether r is one of the regions or "" (none).
func (r Region) KnownOrNone() bool {
	_, ok := ParseRegion(string(r))
	return ok || r == ""
}
