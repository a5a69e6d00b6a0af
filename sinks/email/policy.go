package email

import (
	"errors"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// recipientPolicy says which addresses a per-call Recipient may name.
type recipientPolicy struct {
	any        bool            // Config.AllowAnyRecipient
	domains    map[string]bool // Config.AllowRecipientDomains, in ASCII (A-label) form
	configured map[string]bool // the addresses of Config.To, by canonicalAddress
}

// errNotDomain is returned for a domain that is not a valid host name.
var errNotDomain = errors.New("not a valid domain name")

// canonicalDomain returns the ASCII (A-label, punycode) lower-case form of
// a domain, so that "Bücher.example", "bücher.example." and
// "xn--bcher-kva.example" are the same domain. An address literal
// ("[192.0.2.1]") or a name that IDNA lookup rules refuse is an error.
func canonicalDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || strings.HasPrefix(d, "[") {
		return "", errNotDomain
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil || a == "" {
		return "", errNotDomain
	}
	return strings.ToLower(a), nil
}

// splitAddress returns the local part and the domain of a parsed address,
// as written. The domain follows the last '@': a quoted local part may hold
// one.
func splitAddress(a *mail.Address) (local, domain string) {
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 {
		return a.Address, ""
	}
	return a.Address[:at], a.Address[at+1:]
}

// canonicalAddress is the form in which the addresses of Config.To are
// compared: local part in lower case, canonical domain.
func canonicalAddress(a *mail.Address) (string, error) {
	local, domain := splitAddress(a)
	domain, err := canonicalDomain(domain)
	if err != nil {
		return "", err
	}
	return strings.ToLower(local) + "@" + domain, nil
}

// check refuses the first address that the policy does not allow, naming
// its domain (the address itself may be personal data).
func (p *recipientPolicy) check(addrs []*mail.Address) error {
	if p.any {
		return nil
	}
	for _, a := range addrs {
		local, raw := splitAddress(a)
		domain, err := canonicalDomain(raw)
		if err != nil {
			return invalid("recipient domain %q refused: %v", raw, err)
		}
		switch {
		case p.configured[strings.ToLower(local)+"@"+domain]:
		case p.domains[domain]:
		case len(p.domains) == 0:
			return invalid("recipient domain %q refused: per-call recipients are disabled "+
				"(set allow_recipient_domains, or allow_any_recipient)", domain)
		default:
			return invalid("recipient domain %q refused: not in allow_recipient_domains", domain)
		}
	}
	return nil
}

// setRecipients checks and records Config.To and the policy for per-call
// recipients; a bad entry is reported with fail.
func (s *Sink) setRecipients(cfg Config, fail func(key string, value any, reason string) error) error {
	s.policy = recipientPolicy{any: cfg.AllowAnyRecipient, domains: map[string]bool{}, configured: map[string]bool{}}
	for i, raw := range cfg.To {
		key := "to[" + strconv.Itoa(i) + "]"
		a, err := parseAddress("to", raw)
		if err != nil {
			return fail(key, raw, "want an address such as \"Ops <ops@example.com>\", without line breaks")
		}
		c, err := canonicalAddress(a)
		if err != nil {
			return fail(key, raw, "the domain is "+err.Error())
		}
		s.policy.configured[c] = true
	}
	s.to = slices.Clone(cfg.To)
	for i, raw := range cfg.AllowRecipientDomains {
		key := "allow_recipient_domains[" + strconv.Itoa(i) + "]"
		if strings.ContainsAny(raw, "*@") {
			return fail(key, raw, "want a domain such as example.com (exact: list each subdomain)")
		}
		d, err := canonicalDomain(strings.TrimSpace(raw))
		if err != nil {
			return fail(key, raw, "want a domain such as example.com: "+err.Error())
		}
		s.policy.domains[d] = true
	}
	return nil
}
