/*
 * hotline's press cut (issue 11), for SPIN (docs/MODEL.md, "The press
 * cut"): the segment markers that open a call to the press and take it
 * private again, against a dishonest server and network.
 *
 *   0 an honest client (a principal's, internal/e2ee.Manager), the one
 *     whose keys the properties are about
 *   1 the other side's principal: honest, it only signs markers here
 *   2 the press: a valid credential with the press role (it receives
 *     media only while the segment is public); the adversary's device
 *
 * The adversary is the server and the network together. At any moment it
 * may hand client 0 any roster: 0 and the press each listed "in" or not,
 * a segment claim, and a marker: none, one it made itself, one signed by
 * a device whose role may not run the segment (the press, an adviser), a
 * forged one or another call's (marker.Verify refuses all of them, and
 * marker.Check then acts alike: "no marker"), or any marker an honest
 * principal ever signed, any number of times, in any order, or never. It
 * chooses the sequence number of every marker an honest principal signs:
 * the browser's "go public"/"go private" button and `hotline segment` sign
 * the server's last seq (GET .../segment) + 1. It cannot sign a marker
 * under an honest principal's key. Whatever is sealed to the press, it
 * holds (the press is its device).
 *
 * An honest principal (0 or 1) may, at any moment, sign an opening or a
 * closing marker: its person pressed "go public" or "go private".
 *
 * One client under test suffices (docs/MODEL.md): the properties are about
 * one client's keys, and other clients reach it only through markers,
 * which the adversary carries and which the abstract signer already makes
 * with every seq. Key messages between members and the verification code
 * are hotline.pml's.
 *
 * Variants (spin -D...): BROKEN_REPLAY (a client that accepts a verified
 * marker older than the one it holds: the opening replayed after the cut)
 * and BROKEN_NOMARKER (a client that believes the roster's segment without
 * a marker) must each give a counterexample. CLOSER_HELD adds P6: for a
 * closer that signs the server's seq + 1 (`hotline segment`) SPIN must find
 * its counterexample; with OWN_SEQ too (a closer signs above the marker it
 * holds: the page's button, a booked opening's automatic close) P6 holds
 * (docs/MODEL.md, "The press cut").
 */

#define PRESS 2
#ifndef MAXE
#define MAXE 2         /* epochs 0..MAXE of client 0 */
#endif
#ifndef MAXS
#define MAXS 3         /* marker sequence numbers 1..MAXS */
#endif

#define BIT(i) (1 << (i))
#define HAS(m, i) (((m) >> (i)) & 1)

#define OPEN 1         /* kinds of marker: "public" */
#define CLOSE 2        /* "private" */

/* Client 0's state (internal/e2ee.Manager). */
bool keyed;        /* the press is in its keyed members: route.Keyed, under the segment it believes */
bool selfIn;       /* Manager.selfIn */
byte cur;          /* its newest epoch */
bool sent;         /* the press was sent the current key */
/* marker.State: the marker accepted last (kind, seq; 0: none) and the
   segment it acts on (public only with an accepted opening) */
byte accK;
byte accS;
bool pub;

/* Ghosts: the world as it is, used by the properties. */
byte opens;        /* seqs (bitmask) of the opening markers honest principals signed */
byte closes;       /* seqs of the closing markers they signed */
byte gopen;        /* highest seq of an honest opening handed to 0 (0: none) */
byte gclose;       /* highest seq of an honest closing handed to 0 */
bool holds;        /* the press was sealed 0's current epoch (it holds that key) */
#ifdef CLOSER_HELD
byte heldAt[MAXS+1]; /* heldAt[s]: highest seq of the marker a signer of closing s held when it signed */
byte gheld;        /* highest heldAt of the closings handed to 0 */
bool p6_closed = true;
#endif

bool p2_forward = true;  /* P2 (the press): it holds no key of 0's current epoch unless 0 keys it */
bool p4_opened = true;   /* P4: it holds one only if 0 was handed an opening an honest principal signed */
bool p5_cut = true;      /* P5: ... of a higher seq than every closing 0 was handed */

/* The adversary hands 0 a roster: in = entries listed "in" (bit 0: 0
   itself, bit 2: the press); mk = the marker: 0 none or refused, OPEN or
   CLOSE, of seq s, one an honest principal signed, with the roster's claim
   matching it; claim = the roster's segment (1 public), which only a
   client without the marker check reads. */
inline setRoster(in, mk, s, claim) {
	/* marker.Check, into 0's next state (nK, nS, npub) */
	nK = accK; nS = accS; npub = pub;
	if
	:: mk == 0 ->
#ifdef BROKEN_NOMARKER
		npub = claim   /* the bug: the roster's word */
#else
		npub = false   /* ErrUnsigned, ErrRollback (dropped), a refused marker: act as private */
#endif
	:: mk != 0 && mk == accK && s == accS -> skip  /* the marker held, repeated: prev, as it was */
#ifndef BROKEN_REPLAY
	:: mk != 0 && !(mk == accK && s == accS) && s <= accS -> npub = false  /* ErrRollback: act as private */
	:: mk != 0 && !(mk == accK && s == accS) && s > accS ->
#else
	:: mk != 0 && !(mk == accK && s == accS) ->  /* the bug: no rollback check (the signature only) */
#endif
		nK = mk; nS = s; npub = (mk == OPEN)
	fi;
	/* route.Keyed: the press when it is in and the segment is public
	   (receive_public_segment; the press never has receive_media) */
	nkeyed = HAS(in, PRESS) && npub;
	if
	:: keyed && !nkeyed && cur == MAXE -> skip  /* bound: no epoch beyond MAXE; this roster is not explored */
	:: else ->
		/* the ghosts: the honest markers 0 was handed */
		if
		:: mk == OPEN -> gopen = (s > gopen -> s : gopen)
		:: mk == CLOSE -> gclose = (s > gclose -> s : gclose)
#ifdef CLOSER_HELD
			; gheld = (heldAt[s] > gheld -> heldAt[s] : gheld)
#endif
		:: else -> skip
		fi;
		accK = nK; accS = nS; pub = npub;
		printf("MSC: the server hands 0 a roster, in: 0 %d, press %d; marker %d seq %d (claim %d): 0 acts as public %d\n",
			HAS(in, 0), HAS(in, PRESS), mk, s, claim, pub);
		selfIn = HAS(in, 0);
		if
		:: keyed && !nkeyed -> cur = cur + 1; sent = false; holds = false;  /* the press left: rekeyLocked */
			printf("MSC: 0 starts epoch %d\n", cur)
		:: else -> skip
		fi;
		keyed = nkeyed;
		if
		:: !keyed || !selfIn -> sent = false  /* a member not keyed, or 0 out of the call: sent again once back */
		:: else -> skip
		fi;
		/* pendingSendsLocked */
		if
		:: selfIn && keyed && !sent -> sent = true; holds = true;
			printf("MSC: 0 seals its epoch %d key to the press\n", cur)
		:: else -> skip
		fi
	fi
}

/* The properties, after every step. */
inline check() {
	if
	:: holds && !keyed -> p2_forward = false
	:: else -> skip
	fi;
	if
	:: holds && !(gopen > 0 && HAS(opens, gopen)) -> p4_opened = false
	:: else -> skip
	fi;
	if
	:: holds && gopen <= gclose -> p5_cut = false
	:: else -> skip
	fi;
#ifdef CLOSER_HELD
	if
	:: holds && gopen <= gheld -> p6_closed = false
	:: else -> skip
	fi;
#endif
	assert(p2_forward);
	assert(p4_opened);
	assert(p5_cut)
#ifdef CLOSER_HELD
	; assert(p6_closed)
#endif
}

/* a seq 1..MAXS */
inline pickSeq(s) {
	if :: s = 1 :: s = 2 :: s = 3 :: s = 4 fi;
	if :: s > MAXS -> s = MAXS :: else -> skip fi
}

active proctype world() {
	byte r, mk, s, claim, nK, nS, h;
	bool npub, nkeyed;

	do
	/* the server hands client 0 a roster */
	:: atomic {
		if :: r = 0 :: r = 1 :: r = 4 :: r = 5 fi;
		if
		:: mk = 0; s = 0;
#ifdef BROKEN_NOMARKER
			if :: claim = 0 :: claim = 1 fi
#endif
		:: mk = OPEN; claim = 1; pickSeq(s)
		:: mk = CLOSE; claim = 0; pickSeq(s)
		fi;
		d_step {
			if
			:: mk == 0 || (mk == OPEN && HAS(opens, s)) || (mk == CLOSE && HAS(closes, s)) ->
				setRoster(r, mk, s, claim); check()
			:: else -> skip  /* no such marker */
			fi;
			r = 0; mk = 0; s = 0; claim = 0; nK = 0; nS = 0; npub = false; nkeyed = false
		}
	   }
	/* a principal's person presses "go public": its client signs the
	   opening with the seq the server gave it */
	:: atomic {
		pickSeq(s);
		d_step {
			opens = opens | BIT(s);
			printf("MSC: a principal signs the opening, seq %d\n", s);
			s = 0
		}
	   }
	/* ... or "go private": 0 itself (holding its accepted marker) or the
	   other principal, which may hold any marker signed so far (the
	   adversary decides what it was handed) */
	:: atomic {
		pickSeq(s);
		if
		:: h = accS
		:: h = 0
		:: h = 1 :: h = 2 :: h = 3 :: h = 4
		fi;
		d_step {
			if
			:: h == 0 || h == accS || (h <= MAXS && (HAS(opens, h) || HAS(closes, h))) ->
#ifdef OWN_SEQ
				if
				:: s <= h -> s = h + 1  /* the closer signs above the marker it holds */
				:: else -> skip
				fi;
#endif
				if
				:: s <= MAXS ->
					closes = closes | BIT(s);
#ifdef CLOSER_HELD
					heldAt[s] = (h > heldAt[s] -> h : heldAt[s]);
#endif
					printf("MSC: a principal holding marker seq %d signs the closing, seq %d\n", h, s)
				:: else -> skip  /* bound: no seq beyond MAXS */
				fi
			:: else -> skip
			fi;
			s = 0; h = 0
		}
	   }
	od
}
