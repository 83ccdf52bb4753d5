/*
 * hotline's press cut (issue 11), for SPIN (docs/MODEL.md, "The press
 * cut"): the segment markers that open the call to the press and take it
 * private again, against a dishonest server and network.
 *
 *   0 principal of side A (honest client)   1 principal of side B (honest client)
 *   2 the press (a valid credential with the press role: it receives
 *     media only while the segment is public; the adversary's device)
 *
 * The adversary is the server and the network together. At any moment it
 * may hand an honest client any roster: each entry (the client itself, the
 * other principal, the press) listed "in" or not, with a segment claim and
 * any marker it has: none, one it made itself or one signed by a device
 * whose role may not run the segment (the press, an adviser) or for
 * another call (all refused by marker.Verify, so they act alike: "a
 * refused marker"), or any marker an honest principal ever signed, any
 * number of times, in any order, or never. It chooses the sequence number
 * an honest principal signs: the browser's "go public"/"go private" button
 * and `hotline segment` sign the server's last seq (GET .../segment) + 1.
 * It cannot sign a marker under an honest principal's key. Whatever it
 * receives sealed to the press, the press (its device) holds.
 *
 * Each honest principal may, at any moment, sign an opening or a closing
 * marker ("go public", "go private": its person's choice).
 *
 * Key messages between the two principals and the verification code are
 * hotline.pml's: here a client's keys matter only as far as the press is
 * concerned (which of its epochs the press holds).
 *
 * Variants (spin -D...): BROKEN_REPLAY (a client that accepts a verified
 * marker older than the one it holds: the opening replayed after the cut),
 * BROKEN_NOMARKER (a client that believes the roster's segment without a
 * marker) must each give a counterexample. CLOSER_HELD adds P6, a property
 * the code does not have (docs/MODEL.md): SPIN must find its
 * counterexample; with -DOWN_SEQ too (a closer that signs above the marker
 * it holds) P6 holds.
 */

#define N 3            /* devices */
#define PRESS 2
#ifndef MAXE
#define MAXE 2         /* epochs 0..MAXE per sender */
#endif
#ifndef MAXS
#define MAXS 3         /* marker sequence numbers 1..MAXS */
#endif

#define BIT(i) (1 << (i))
#define HAS(m, i) (((m) >> (i)) & 1)

#define OPEN 1         /* kinds of marker: "public" */
#define CLOSE 2        /* "private" */

/* One honest client's state (internal/e2ee.Manager). */
byte members[N];   /* keyed members (bitmask): route.Keyed under the segment it believes */
bool selfIn[N];
byte cur[N];       /* own newest epoch */
byte sent[N];      /* members sent the current key */
/* marker.State: the marker accepted last (kind, seq; 0: none) and the
   segment acted on (public only with an accepted opening) */
byte accK[N];
byte accS[N];
bool pub[N];

/* Ghosts: the world as it is, used by the properties. */
byte opens;        /* seqs (bitmask) of the opening markers honest principals signed */
byte closes;       /* seqs of the closing markers they signed */
byte gopen[N];     /* gopen[c]: highest seq of an honest opening handed to c (0: none) */
byte gclose[N];    /* gclose[c]: highest seq of an honest closing handed to c */
byte holds[N];     /* holds[c]: devices that were sealed c's current epoch */
#ifdef CLOSER_HELD
byte heldAt[MAXS+1]; /* heldAt[s]: seq of the marker the signer of closing s held when it signed */
byte gheld[N];     /* highest heldAt of the closings handed to c */
bool p6_closed = true;
#endif

bool p2_forward = true;  /* P2 (for the press): the press holds no key of c's current epoch unless c keys it */
bool p4_opened = true;   /* P4: the press holds a key of c's current epoch only if c was handed an honest opening */
bool p5_cut = true;      /* P5: ... of a higher seq than every closing c was handed */

/* marker.Check on an honest marker (kind k, seq s) with a roster whose
   claim matches it, into the client's next state (nK, nS, npub); (k, s)
   identifies the marker (MODEL.md: two markers with one seq and kind are
   one here). */
inline checkMarker(c, k, s) {
	if
	:: k == accK[c] && s == accS[c] -> skip      /* the marker held, repeated: prev, as it was */
#ifndef BROKEN_REPLAY
	:: !(k == accK[c] && s == accS[c]) && s <= accS[c] -> npub = false  /* ErrRollback: act as private */
	:: !(k == accK[c] && s == accS[c]) && s > accS[c] ->
#else
	:: else ->  /* the bug: no rollback check (only the signature) */
#endif
		nK = k; nS = s; npub = (k == OPEN)
	fi
}

/* Seal c's current key to every keyed member that lacks it. */
inline sendPending(c) {
	if
	:: selfIn[c] ->
		d = 0;
		do
		:: d < N ->
			if
			:: HAS(members[c], d) && !HAS(sent[c], d) ->
				holds[c] = holds[c] | BIT(d);
				printf("MSC: %d seals its epoch %d key to %d\n", c, cur[c], d);
				sent[c] = sent[c] | BIT(d)
			:: else -> skip
			fi;
			d++
		:: else -> break
		od
	:: else -> skip
	fi
}

/* The adversary hands c a roster: in = entries listed "in"; mk = the
   marker: 0 none or refused, OPEN or CLOSE with seq s (one an honest
   principal signed); claim = the roster's segment (1 public). */
inline setRoster(c, in, mk, s, claim) {
	/* marker.Check */
	nK = accK[c]; nS = accS[c]; npub = pub[c];
	if
	:: mk == 0 ->
#ifdef BROKEN_NOMARKER
		npub = claim  /* the bug: the roster's word */
#else
		npub = false  /* ErrUnsigned, ErrRollback, a refused marker: act as private */
#endif
	:: mk != 0 && claim != (mk == OPEN) -> npub = false  /* the marker says otherwise: refused */
	:: mk != 0 && claim == (mk == OPEN) -> checkMarker(c, mk, s)
	fi;
	/* route.Keyed: the other principal when in (receive_media), the press
	   when in and the segment it believes is public (receive_public_segment) */
	next = in & ~BIT(c) & ~BIT(PRESS);
	if
	:: HAS(in, PRESS) && npub -> next = next | BIT(PRESS)
	:: else -> skip
	fi;
	left = members[c] & ~next;
	if
	:: left != 0 && cur[c] == MAXE -> skip  /* bound: no epoch beyond MAXE; this roster is not explored */
	:: else ->
		/* the ghosts: which honest markers c was handed */
		if
		:: mk == OPEN && claim -> gopen[c] = (s > gopen[c] -> s : gopen[c])
		:: mk == CLOSE && !claim -> gclose[c] = (s > gclose[c] -> s : gclose[c])
#ifdef CLOSER_HELD
			; gheld[c] = (heldAt[s] > gheld[c] -> heldAt[s] : gheld[c])
#endif
		:: else -> skip
		fi;
		accK[c] = nK; accS[c] = nS; pub[c] = npub;
		printf("MSC: the server hands %d a roster, in: %d%d%d (devices 0..2), marker %d seq %d, claim %d: %d acts as %d\n",
			c, HAS(in,0), HAS(in,1), HAS(in,2), mk, s, claim, c, pub[c]);
		sent[c] = sent[c] & next;
		members[c] = next;
		selfIn[c] = HAS(in, c);
		if
		:: !selfIn[c] -> sent[c] = 0
		:: else -> skip
		fi;
		if
		:: left != 0 -> cur[c] = cur[c] + 1; sent[c] = 0; holds[c] = 0;  /* rekeyLocked: the press leaving is a departure */
			printf("MSC: %d starts epoch %d\n", c, cur[c])
		:: else -> skip
		fi;
		sendPending(c)
	fi
}

/* The properties, after every step. */
inline check() {
	c = 0;
	do
	:: c < 2 ->
		if
		:: HAS(holds[c], PRESS) && !HAS(members[c], PRESS) -> p2_forward = false
		:: else -> skip
		fi;
		if
		:: HAS(holds[c], PRESS) && !(gopen[c] > 0 && HAS(opens, gopen[c])) -> p4_opened = false
		:: else -> skip
		fi;
		if
		:: HAS(holds[c], PRESS) && gopen[c] <= gclose[c] -> p5_cut = false
		:: else -> skip
		fi;
#ifdef CLOSER_HELD
		if
		:: HAS(holds[c], PRESS) && gopen[c] <= gheld[c] -> p6_closed = false
		:: else -> skip
		fi;
#endif
		c++
	:: else -> break
	od;
	assert(p2_forward);
	assert(p4_opened);
	assert(p5_cut)
#ifdef CLOSER_HELD
	; assert(p6_closed)
#endif
}

active proctype world() {
	byte c, r, mk, s, claim, d, next, left, nK, nS;
	bool npub;

	d_step {
		c = 0;
		do
		:: c < N -> members[c] = 0; selfIn[c] = false; cur[c] = 0; sent[c] = 0;
			accK[c] = 0; accS[c] = 0; pub[c] = false; gopen[c] = 0; gclose[c] = 0; holds[c] = 0; c++
		:: else -> break
		od;
		opens = 0; closes = 0; c = 0
	}
	do
	/* the server hands an honest client a roster */
	:: atomic {
		if :: c = 0 :: c = 1 fi;
		if :: r = 0 :: r = 1 :: r = 2 :: r = 3 :: r = 4 :: r = 5 :: r = 6 :: r = 7 fi;
		if :: claim = 0 :: claim = 1 fi;
		if
		:: mk = 0; s = 0
		:: mk = OPEN; if :: s = 1 :: s = 2 :: s = 3 fi
		:: mk = CLOSE; if :: s = 1 :: s = 2 :: s = 3 fi
		fi;
		d_step {
			if
			:: s <= MAXS && (mk == 0 || (mk == OPEN && HAS(opens, s)) || (mk == CLOSE && HAS(closes, s))) ->
				setRoster(c, r, mk, s, claim); check()
			:: else -> skip  /* no such marker */
			fi;
			c = 0; r = 0; mk = 0; s = 0; claim = 0; d = 0; next = 0; left = 0; nK = 0; nS = 0; npub = false
		}
	   }
	/* an honest principal's person presses "go public" or "go private";
	   its client signs the marker with the seq the server gave it */
	:: atomic {
		if :: c = 0 :: c = 1 fi;
		if :: mk = OPEN :: mk = CLOSE fi;
		if :: s = 1 :: s = 2 :: s = 3 fi;
		d_step {
			if
#ifdef OWN_SEQ
			:: s <= MAXS && (mk == OPEN || s > accS[c]) ->  /* the closer signs above the marker it holds */
#else
			:: s <= MAXS ->
#endif
				if
				:: mk == OPEN -> opens = opens | BIT(s)
				:: else -> closes = closes | BIT(s)
#ifdef CLOSER_HELD
					; heldAt[s] = (accS[c] > heldAt[s] -> accS[c] : heldAt[s])
#endif
				fi;
				printf("MSC: %d signs marker %d seq %d\n", c, mk, s)
			:: else -> skip
			fi;
			c = 0; mk = 0; s = 0
		}
	   }
	od
}
