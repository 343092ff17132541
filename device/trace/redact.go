package trace

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device/aid"
)

// pivmanProtected is the PIV object holding the PIN-protected management
// key (yubikey-manager ykman/piv.py OBJECT_ID_PIVMAN_PROTECTED_DATA).
var pivmanProtected = []byte{0x5F, 0xC1, 0x09}

// command is a decoded command APDU header and what its response needs.
type command struct {
	app           string // "PIV", "MGMT", "FIDO", ... or "" (unknown)
	ins, p1, p2   byte
	object        []byte // GET DATA / PUT DATA object id
	ctap          byte   // CTAP command byte of a FIDO APDU
	showsResponse bool
}

// apps are the applications the decoder names, with their names in the trace.
var apps = []struct {
	aid  aid.AID
	name string
}{
	{aid.PIV, "PIV"},
	{aid.Management, "MGMT"},
	{aid.FIDO, "FIDO"},
	{aid.OATH, "OATH"},
	{aid.OTP, "OTP"},
	{aid.OpenPGP, "OPENPGP"},
	{aid.HSMAuth, "HSMAUTH"},
}

// appName names the application the data of a SELECT names, or "".
func appName(selected []byte) string {
	for _, a := range apps {
		if a.aid.SelectedBy(selected) {
			return a.name
		}
	}
	return ""
}

// splitAPDU decodes an ISO 7816-4 command: header, data (short or
// extended Lc). ok is false for bytes that are not a command.
func splitAPDU(raw []byte) (cla, ins, p1, p2 byte, data []byte, ok bool) {
	if len(raw) < 4 {
		return 0, 0, 0, 0, nil, false
	}
	cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
	body := raw[4:]
	switch {
	case len(body) <= 1: // case 1 or 2 (Le only)
		return cla, ins, p1, p2, nil, true
	case body[0] != 0:
		n := int(body[0])
		if len(body) < 1+n {
			return cla, ins, p1, p2, nil, false
		}
		return cla, ins, p1, p2, body[1 : 1+n], true
	case len(body) >= 3:
		n := int(body[1])<<8 | int(body[2])
		if len(body) < 3+n {
			return cla, ins, p1, p2, nil, false
		}
		return cla, ins, p1, p2, body[3 : 3+n], true
	}
	return cla, ins, p1, p2, nil, false
}

// Command records a command APDU sent to the key named who (its reader).
// Its data is shown only where the decoder knows it carries no secret.
func (l *Log) Command(who string, raw []byte) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cla, ins, p1, p2, data, ok := splitAPDU(raw)
	if !ok {
		l.add(KindAPDU, who, fmt.Sprintf("> <unparsed command %d bytes>", len(raw)))
		return
	}
	if ins == 0xC0 { // GET RESPONSE continues the last command
		l.add(KindAPDU, who, fmt.Sprintf("> %02X C0 %02X %02X GET RESPONSE", cla, p1, p2))
		return
	}
	if ins == 0xA4 && p1 == 0x04 {
		l.aid[who] = bytes.Clone(data)
		l.last[who] = command{app: appName(data), ins: ins, showsResponse: true}
		l.add(KindAPDU, who, fmt.Sprintf("> %02X A4 %02X %02X SELECT %s (%s)", cla, p1, p2, hex.EncodeToString(data), nonEmpty(appName(data), "unknown application")))
		return
	}
	c := command{app: appName(l.aid[who]), ins: ins, p1: p1, p2: p2}
	name, text := describe(&c, data)
	l.last[who] = c
	line := fmt.Sprintf("> %02X %02X %02X %02X %s", cla, ins, p1, p2, nonEmpty(c.app, "?"))
	if name != "" {
		line += " " + name
	}
	if text != "" {
		line += " " + text
	}
	l.add(KindAPDU, who, line)
}

// Response records the response to the last command sent to who, or the
// transport error.
func (l *Log) Response(who string, raw []byte, err error) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.add(KindAPDU, who, "< error: "+err.Error())
		return
	}
	if len(raw) < 2 {
		l.add(KindAPDU, who, fmt.Sprintf("< <%d bytes, no status word>", len(raw)))
		return
	}
	data, sw := raw[:len(raw)-2], raw[len(raw)-2:]
	c := l.last[who]
	text := ""
	switch {
	case len(data) == 0:
	case c.app == "FIDO" && c.ins == 0x10:
		text = ctapResponse(c.ctap, data)
	case c.showsResponse:
		text = hex.EncodeToString(data)
	default:
		text = fmt.Sprintf("<%d bytes>", len(data))
	}
	line := fmt.Sprintf("< %02X%02X", sw[0], sw[1])
	if text != "" {
		line += " " + text
	}
	l.add(KindAPDU, who, line)
}

// describe names a command and renders its data for the trace, marking in
// c whether its response may be shown. Unknown commands show only the
// length of their data.
func describe(c *command, data []byte) (name, text string) {
	length := func(label string) string {
		if len(data) == 0 {
			return ""
		}
		return fmt.Sprintf("<%s%d bytes>", label, len(data))
	}
	switch c.app {
	case "PIV":
		return describePIV(c, data)
	case "MGMT":
		switch c.ins {
		case 0x1D:
			c.showsResponse = true
			return "READ CONFIG", hex.EncodeToString(data)
		case 0x1C:
			return "WRITE CONFIG", writeConfig(data)
		case 0x16:
			return "SET MODE", hex.EncodeToString(data)
		case 0x1F:
			return "DEVICE RESET", ""
		}
	case "FIDO":
		if c.ins == 0x10 && len(data) > 0 {
			c.ctap = data[0]
			return "CTAP", ctapRequest(data[0], data[1:])
		}
	}
	return "", length("")
}

func describePIV(c *command, data []byte) (name, text string) {
	switch c.ins {
	case 0x20:
		if len(data) == 0 {
			return "VERIFY", "(retries check)"
		}
		return "VERIFY", "<" + credName(c.p2) + fmt.Sprintf(" %d bytes>", unpadded(data))
	case 0x24:
		if len(data) != 16 {
			return "CHANGE REFERENCE DATA", fmt.Sprintf("<%d bytes>", len(data))
		}
		return "CHANGE REFERENCE DATA", fmt.Sprintf("<current %s %d bytes> <new %s %d bytes>", credName(c.p2), unpadded(data[:8]), credName(c.p2), unpadded(data[8:]))
	case 0x2C:
		if len(data) != 16 {
			return "RESET RETRY COUNTER", fmt.Sprintf("<%d bytes>", len(data))
		}
		return "RESET RETRY COUNTER", fmt.Sprintf("<PUK %d bytes> <new PIN %d bytes>", unpadded(data[:8]), unpadded(data[8:]))
	case 0x87:
		if c.p2 == 0x9B {
			return "GENERAL AUTHENTICATE", fmt.Sprintf("<management key authentication %d bytes>", len(data))
		}
		return "GENERAL AUTHENTICATE", fmt.Sprintf("<slot %02X data %d bytes>", c.p2, len(data))
	case 0xFF:
		return "SET MANAGEMENT KEY", fmt.Sprintf("<management key %d bytes>", len(data))
	case 0xFE:
		return "IMPORT KEY", fmt.Sprintf("<private key %d bytes>", len(data))
	case 0xDB:
		obj := objectID(data)
		c.object = obj
		return "PUT DATA", fmt.Sprintf("object %s <%d bytes>", hex.EncodeToString(obj), len(data))
	case 0xCB:
		c.object = objectID(data)
		c.showsResponse = !bytes.Equal(c.object, pivmanProtected)
		return "GET DATA", "object " + hex.EncodeToString(c.object)
	case 0xF7:
		c.showsResponse = true
		return "GET METADATA", fmt.Sprintf("slot %02X", c.p2)
	case 0xF8:
		c.showsResponse = true
		return "GET SERIAL", ""
	case 0xFD:
		c.showsResponse = true
		return "GET VERSION", ""
	case 0xF9:
		c.showsResponse = true
		return "ATTEST", fmt.Sprintf("slot %02X", c.p1)
	case 0x47:
		c.showsResponse = true
		return "GENERATE ASYMMETRIC", fmt.Sprintf("slot %02X %s", c.p2, hex.EncodeToString(data))
	case 0xFB:
		return "RESET", ""
	}
	if len(data) == 0 {
		return "", ""
	}
	return "", fmt.Sprintf("<%d bytes>", len(data))
}

func credName(p2 byte) string {
	switch p2 {
	case 0x80:
		return "PIN"
	case 0x81:
		return "PUK"
	}
	return fmt.Sprintf("credential %02X", p2)
}

// unpadded is a PIV PIN's length without its 0xFF padding (SP 800-73-4
// part 2 §3.2.1): the length is what a trace may say.
func unpadded(b []byte) int {
	if i := bytes.IndexByte(b, 0xFF); i >= 0 {
		return i
	}
	return len(b)
}

// objectID reads the 5C tag of a GET DATA or PUT DATA body.
func objectID(data []byte) []byte {
	if len(data) >= 2 && data[0] == 0x5C && int(data[1]) <= len(data)-2 {
		return data[2 : 2+int(data[1])]
	}
	return nil
}

// writeConfig renders WRITE CONFIG TLVs with the lock codes (tags 0A new,
// 0B current) as their length (yubikey-manager yubikit/management.py
// DeviceConfig.get_bytes).
func writeConfig(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	b := data[1:]
	var parts []string
	for len(b) >= 2 {
		tag, n := b[0], int(b[1])
		if n >= 0x80 || len(b) < 2+n {
			return fmt.Sprintf("<%d bytes>", len(data))
		}
		v := b[2 : 2+n]
		switch tag {
		case 0x0A:
			parts = append(parts, fmt.Sprintf("0A <new lock code %d bytes>", n))
		case 0x0B:
			parts = append(parts, fmt.Sprintf("0B <current lock code %d bytes>", n))
		default:
			parts = append(parts, fmt.Sprintf("%02X %s", tag, hex.EncodeToString(v)))
		}
		b = b[2+n:]
	}
	if len(b) != 0 {
		return fmt.Sprintf("<%d bytes>", len(data))
	}
	return strings.Join(parts, " ")
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
