//go:build linux && cgo

// SCardConnect and SCardTransmit as the executable's own definitions, so
// piv-go's calls (which reach libpcsclite directly from its own cgo code,
// github.com/go-piv/piv-go/v2 piv/pcsc_unix.go) pass through here and the
// APDUs of the piv-go sessions keywizard opens can be traced; see
// pivgotrace_linux.go. The real functions are found with
// dlsym(RTLD_NEXT, ...), the next definition after the executable's: the
// one in libpcsclite. Only handles registered by kw_pivtrace_expect are
// reported; every other call is passed on untouched.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <PCSC/winscard.h>

#include "_cgo_export.h"

#define KW_SLOTS 8

static pthread_mutex_t kw_mu = PTHREAD_MUTEX_INITIALIZER;
static int kw_used[KW_SLOTS];
static char kw_reader[KW_SLOTS][256];
static SCARDHANDLE kw_handle[KW_SLOTS];

typedef LONG (*kw_connect_fn)(SCARDCONTEXT, LPCSTR, DWORD, DWORD, LPSCARDHANDLE, LPDWORD);
typedef LONG (*kw_transmit_fn)(SCARDHANDLE, const SCARD_IO_REQUEST *, LPCBYTE, DWORD, SCARD_IO_REQUEST *, LPBYTE, LPDWORD);

static void *kw_next(const char *name) {
	void *f = dlsym(RTLD_NEXT, name);
	return f;
}

int kw_pivtrace_expect(const char *reader) {
	int slot = -1;
	pthread_mutex_lock(&kw_mu);
	for (int i = 0; i < KW_SLOTS; i++) {
		if (!kw_used[i]) {
			kw_used[i] = 1;
			kw_handle[i] = 0;
			strncpy(kw_reader[i], reader, sizeof(kw_reader[i]) - 1);
			kw_reader[i][sizeof(kw_reader[i]) - 1] = 0;
			slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&kw_mu);
	return slot;
}

void kw_pivtrace_forget(int slot) {
	if (slot < 0 || slot >= KW_SLOTS) return;
	pthread_mutex_lock(&kw_mu);
	kw_used[slot] = 0;
	kw_handle[slot] = 0;
	kw_reader[slot][0] = 0;
	pthread_mutex_unlock(&kw_mu);
}

LONG SCardConnect(SCARDCONTEXT hContext, LPCSTR szReader, DWORD dwShareMode, DWORD dwPreferredProtocols,
                  LPSCARDHANDLE phCard, LPDWORD pdwActiveProtocol) {
	kw_connect_fn real = (kw_connect_fn)kw_next("SCardConnect");
	if (real == NULL) return SCARD_F_INTERNAL_ERROR;
	LONG rv = real(hContext, szReader, dwShareMode, dwPreferredProtocols, phCard, pdwActiveProtocol);
	// piv-go always connects exclusively (piv/pcsc_unix.go Connect), and
	// while it holds the card nobody else can connect to that reader.
	if (rv != SCARD_S_SUCCESS || dwShareMode != SCARD_SHARE_EXCLUSIVE || szReader == NULL || phCard == NULL) return rv;
	pthread_mutex_lock(&kw_mu);
	for (int i = 0; i < KW_SLOTS; i++) {
		if (kw_used[i] && kw_handle[i] == 0 && strcmp(kw_reader[i], szReader) == 0) {
			kw_handle[i] = *phCard;
			break;
		}
	}
	pthread_mutex_unlock(&kw_mu);
	return rv;
}

LONG SCardTransmit(SCARDHANDLE hCard, const SCARD_IO_REQUEST *pioSendPci, LPCBYTE pbSendBuffer, DWORD cbSendLength,
                   SCARD_IO_REQUEST *pioRecvPci, LPBYTE pbRecvBuffer, LPDWORD pcbRecvLength) {
	kw_transmit_fn real = (kw_transmit_fn)kw_next("SCardTransmit");
	if (real == NULL) return SCARD_F_INTERNAL_ERROR;
	LONG rv = real(hCard, pioSendPci, pbSendBuffer, cbSendLength, pioRecvPci, pbRecvBuffer, pcbRecvLength);
	int slot = -1;
	pthread_mutex_lock(&kw_mu);
	for (int i = 0; i < KW_SLOTS; i++) {
		if (kw_used[i] && kw_handle[i] != 0 && kw_handle[i] == hCard) {
			slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&kw_mu);
	if (slot >= 0) {
		unsigned long got = (rv == SCARD_S_SUCCESS && pcbRecvLength != NULL) ? (unsigned long)*pcbRecvLength : 0;
		keywizardPIVGoExchange(slot, (unsigned char *)pbSendBuffer, (unsigned long)cbSendLength,
		                       (unsigned char *)pbRecvBuffer, got, (unsigned long)(uint32_t)rv);
	}
	return rv;
}
