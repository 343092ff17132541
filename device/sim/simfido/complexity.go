package simfido

// EasyPIN is the simulator's stand-in for firmware 5.7's PIN complexity
// list (device info tag 0x16), used by both of a simulated key's
// applications: Yubico publishes the list only as examples (Yubico SDK
// docs, "PIN complexity policy": 11111111, password, 12345678), so this
// refuses one character repeated, a run of consecutive digits up or down,
// and a few common PINs. A real key refuses such a PIN with SW 6985 in PIV
// (yubikey-manager ykman/_cli/piv.py "does not meet complexity
// requirement") and CTAP2_ERR_PIN_POLICY_VIOLATION in FIDO2
// (yubikey-manager ykman/_cli/fido.py change_pin: "New PIN doesn't meet
// complexity requirements."; CTAP 2.3 §8.2 on that status: "Minimum PIN
// length or PIN complexity may trigger this error"). pin is the PIN's
// bytes without padding.
func EasyPIN(pin []byte) bool {
	if len(pin) == 0 {
		return true
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	digits := pin[0] >= '0' && pin[0] <= '9'
	switch string(pin) {
	case "password", "123123", "12341234", "abc123", "qwerty", "11223344":
		return true
	}
	return same || (digits && (up || down))
}
