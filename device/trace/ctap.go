package trace

import (
	"fmt"
	"strings"
)

// CTAP command bytes (CTAP 2.1 §6).
var ctapNames = map[byte]string{
	0x01: "makeCredential", 0x02: "getAssertion", 0x04: "getInfo", 0x06: "clientPIN",
	0x07: "reset", 0x08: "getNextAssertion", 0x0A: "credentialManagement", 0x0B: "selection",
	0x0C: "largeBlobs", 0x0D: "config", 0x41: "credentialManagementPreview",
}

// clientPIN subcommands (CTAP 2.1 §6.5.5).
var pinSubcommands = map[uint64]string{
	1: "getPINRetries", 2: "getKeyAgreement", 3: "setPIN", 4: "changePIN",
	5: "getPinToken", 6: "getPinUvAuthTokenUsingUvWithPermissions", 7: "getUVRetries",
	9: "getPinUvAuthTokenUsingPinWithPermissions",
}

// ctapRequest renders a CTAP request: its command and, of its top-level
// CBOR map, only unsigned integers (protocol, subcommand, permissions,
// options) as values; every other member (keyAgreement, pinUvAuthParam,
// newPinEnc, pinHashEnc, clientDataHash, user, rpId, credential ids, ...)
// as its length. So secrets cannot appear whatever the command.
func ctapRequest(cmd byte, cbor []byte) string {
	name := ctapNames[cmd]
	if name == "" {
		name = fmt.Sprintf("command 0x%02x", cmd)
	}
	if len(cbor) == 0 {
		return name
	}
	return name + " " + ctapMap(cmd, cbor, true)
}

// ctapResponse renders a CTAP response: the status byte, then the map as
// ctapRequest does (pinUvAuthToken, keyAgreement, credentials and
// signatures only as lengths; retries and counts as values).
func ctapResponse(cmd byte, data []byte) string {
	if len(data) == 0 {
		return ""
	}
	s := fmt.Sprintf("status 0x%02x", data[0])
	if len(data) > 1 {
		s += " " + ctapMap(cmd, data[1:], false)
	}
	return s
}

// Names of CBOR map members worth a word in the trace (CTAP 2.1 §6.5.5,
// §6.1, §6.2); unnamed members are "member N". A name changes nothing of
// what is shown: only unsigned integers appear as values.
var (
	pinRequestKeys  = map[uint64]string{1: "pinUvAuthProtocol", 2: "subCommand", 3: "keyAgreement", 4: "pinUvAuthParam", 5: "newPinEnc", 6: "pinHashEnc", 9: "permissions", 10: "rpId"}
	pinResponseKeys = map[uint64]string{1: "keyAgreement", 2: "pinUvAuthToken", 3: "pinRetries", 4: "powerCycleState", 5: "uvRetries"}
	// memberNames by command: [request, response] (CTAP 2.1 §6.1, §6.2,
	// §6.5.5).
	memberNames = map[byte][2]map[uint64]string{
		0x01: {
			{1: "clientDataHash", 2: "rp", 3: "user", 4: "pubKeyCredParams", 5: "excludeList", 6: "extensions", 7: "options", 8: "pinUvAuthParam", 9: "pinUvAuthProtocol", 10: "enterpriseAttestation"},
			{1: "fmt", 2: "authData", 3: "attStmt", 4: "epAtt", 5: "largeBlobKey"},
		},
		0x02: {
			{1: "rpId", 2: "clientDataHash", 3: "allowList", 4: "extensions", 5: "options", 6: "pinUvAuthParam", 7: "pinUvAuthProtocol"},
			{1: "credential", 2: "authData", 3: "signature", 4: "user", 5: "numberOfCredentials"},
		},
		0x06: {pinRequestKeys, pinResponseKeys},
	}
)

func ctapMap(cmd byte, b []byte, request bool) string {
	if len(b) == 0 || b[0]>>5 != 5 {
		return fmt.Sprintf("<%d bytes>", len(b))
	}
	n, rest, ok := cborHead(b)
	if !ok {
		return fmt.Sprintf("<%d bytes>", len(b))
	}
	var parts []string
	for i := uint64(0); i < n; i++ {
		if len(rest) == 0 || rest[0]>>5 != 0 {
			return fmt.Sprintf("<%d bytes>", len(b))
		}
		key, after, ok := cborHead(rest)
		if !ok {
			return fmt.Sprintf("<%d bytes>", len(b))
		}
		end, ok := cborSkip(after)
		if !ok {
			return fmt.Sprintf("<%d bytes>", len(b))
		}
		value := after[:len(after)-len(end)]
		label := fmt.Sprintf("member %d", key)
		if names, ok := memberNames[cmd]; ok {
			i := 1
			if request {
				i = 0
			}
			if s, ok := names[i][key]; ok {
				label = s
			}
		}
		if value[0]>>5 == 0 { // unsigned integer: counts, protocol, subcommand
			v, _, _ := cborHead(value)
			if cmd == 0x06 && request && key == 2 {
				parts = append(parts, fmt.Sprintf("%s=%s", label, nonEmpty(pinSubcommands[v], fmt.Sprint(v))))
			} else {
				parts = append(parts, fmt.Sprintf("%s=%d", label, v))
			}
		} else {
			parts = append(parts, fmt.Sprintf("%s=<%d bytes>", label, len(value)))
		}
		rest = end
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// cborHead reads a CBOR item's head: the argument (length, count or value)
// and the bytes after the head. Indefinite lengths are not accepted.
func cborHead(b []byte) (arg uint64, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	ai := b[0] & 0x1F
	switch {
	case ai < 24:
		return uint64(ai), b[1:], true
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(b) < 1+n {
			return 0, nil, false
		}
		for _, c := range b[1 : 1+n] {
			arg = arg<<8 | uint64(c)
		}
		return arg, b[1+n:], true
	}
	return 0, nil, false
}

// cborSkip returns the bytes after one whole CBOR item.
func cborSkip(b []byte) ([]byte, bool) {
	return cborSkipDepth(b, 0)
}

func cborSkipDepth(b []byte, depth int) ([]byte, bool) {
	if depth > 16 || len(b) == 0 {
		return nil, false
	}
	major := b[0] >> 5
	arg, rest, ok := cborHead(b)
	if !ok {
		return nil, false
	}
	switch major {
	case 0, 1, 7:
		return rest, true
	case 2, 3:
		if uint64(len(rest)) < arg {
			return nil, false
		}
		return rest[arg:], true
	case 4, 5:
		items := arg
		if major == 5 {
			items *= 2
		}
		for i := uint64(0); i < items; i++ {
			if rest, ok = cborSkipDepth(rest, depth+1); !ok {
				return nil, false
			}
		}
		return rest, true
	case 6:
		return cborSkipDepth(rest, depth+1)
	}
	return nil, false
}

// CTAPCall records a FIDO2 operation on the authenticator at path (the
// go-libfido2 and simulator adapters below device/fido, where the raw CTAP
// exchange happens inside libfido2): the operation, its arguments as
// rendered by the caller (PINs only as lengths, see [Secret]), and how it
// ended.
func (l *Log) CTAPCall(path, op, args string, err error) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line := op
	if args != "" {
		line += " " + args
	}
	if err != nil {
		line += " -> error: " + err.Error()
	} else {
		line += " -> ok"
	}
	l.add(KindCTAP, path, line)
}

// Secret renders a secret as its kind and length only: "<PIN 6 bytes>".
func Secret(kind string, s string) string {
	return fmt.Sprintf("<%s %d bytes>", kind, len(s))
}
