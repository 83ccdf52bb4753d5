/*
 * hotline's membership and key protocol, for SPIN (docs/MODEL.md).
 *
 * Two sides, three devices each:
 *
 *   side A: 0 principal (honest client)   1 adviser                  2 operator (enrolled, may not receive media)
 *   side B: 3 principal (honest client)   4 adviser                  5 a forged entry (no authority signature)
 *
 * Devices 1, 2, 4 and 5 are the adversary's (-DHONEST3 makes 1 an honest
 * client too): it receives what is sealed to them and sends their keys.
 *
 * The adversary is the server and the network together. At any moment it
 * may hand any honest client any roster (any subset of the six entries, each
 * listed "in" or not "in" -- absent, lobby and bench are alike to a client,
 * see MODEL.md), including the forged entry and the operator, and the
 * client's own entry in or out of the call; that covers joins, the lobby,
 * the bench, admission, call-in, send-out, removal, leaving, rosters
 * dropped, reordered, replayed and told differently to each client. It
 * records every key message any client ever sealed and may deliver any of
 * them to its recipient at any moment, any number of times, or never
 * (reorder, drop, replay). It cannot open a sealed key, seal one under an
 * honest sender's signing key, or make an entry verify without an
 * authority's signature (symbolic cryptography: keys and epochs are
 * numbers, sealing is a record of (sender, recipient, epoch)).
 *
 * Variants (spin -D...): BROKEN_UNVERIFIED (a client that sends keys
 * without verifying credentials), BROKEN_KEEP (a client that keeps a
 * departed member and keeps sending to it), BROKEN_CODE (a code without
 * the key commitments). Each must produce a counterexample.
 */

#define N 6            /* devices */
#ifndef MAXE
#define MAXE 2         /* epochs 0..MAXE per sender: up to MAXE rekeys */
#endif
#define NONE 255

#define BIT(i) (1 << (i))
#define HAS(m, i) (((m) >> (i)) & 1)

/* Ground truth about the devices (what the authorities signed). */
#define VALID  31      /* 0b011111: devices 0..4 verify, 5 is forged */
#define RECV   27      /* 0b011011: credential roles allow receive_media: 0,1,3,4 (not the operator 2) */
/* Devices that run the honest client. The others are the adversary's: it
   sends their keys (any epoch) and receives what is sealed to them. Two
   honest clients, one per side, are the default (MODEL.md explains why
   that covers more); -DHONEST3 adds side A's adviser (1). */
#ifdef HONEST3
#define HONEST 11      /* 0b001011: 0, 1, 3 */
#define PICK_HONEST(c) if :: c = 0 :: c = 1 :: c = 3 fi
#else
#define HONEST 9       /* 0b001001: 0, 3 */
#define PICK_HONEST(c) if :: c = 0 :: c = 3 fi
#endif

/* What an honest client believes a roster entry is: whether it verifies
   (e2ee.CheckRoster: trust.VerifyCredential against its pins) and whether
   its keys go there (route.Keyed: in, and roles that receive media). */
#ifdef BROKEN_UNVERIFIED
#define VERIFIES(d) (1)
#else
#define VERIFIES(d) HAS(VALID, d)
#endif
/* the roles an entry's credential claims: the forged entry (5) claims a
   principal's, which a client that verifies never believes */
#define CLAIMS_RECV 59 /* 0b111011 */
#define RECEIVES(d) HAS(CLAIMS_RECV, d)

/* One honest client's state (internal/e2ee.Manager). */
byte members[N];   /* verified members it sends keys to (bitmask), Manager.members */
bool selfIn[N];    /* Manager.selfIn */
byte cur[N];       /* own newest epoch, Manager.epoch */
byte sent[N];      /* members sent the current key (bitmask), member.sent && sentKID == kid */
byte held[N*N];    /* held[c*N+s]: epoch of s's key that c holds, NONE if none (member.kid, member.has) */

/* Ghosts: not part of any client, used by the properties. */
byte shown[N];     /* entries of c's last roster that are "in", verify and receive: the ground truth of c's roster */
byte sealed[N*N];  /* sealed[s*N+d]: epochs (bitmask) of s's keys ever sealed to an honest d: what the adversary may deliver to d */
byte holds[N];     /* holds[s]: devices that were sealed s's current epoch (bitmask; all of them can open it) */

bool p1_confined = true;   /* P1: a key reaches only a verified receiving member in the sender's roster, of the sender's current epoch */
bool p2_forward = true;    /* P2: a device not in the sender's roster holds no key of the sender's current epoch */
bool p3_code = true;       /* P3: equal codes only for equal members and keys */

/* Seal c's current key to every member that lacks it (pendingSendsLocked). */
inline sendPending(c) {
	if
	:: selfIn[c] ->
		d = 0;
		do
		:: d < N ->
			if
			:: HAS(members[c], d) && !HAS(sent[c], d) ->
				/* P1, checked on the ground truth, not on what the client believes */
				if
				:: !(HAS(VALID, d) && HAS(RECV, d) && HAS(shown[c], d)) -> p1_confined = false
				:: else -> skip
				fi;
				if
				:: HAS(HONEST, d) -> sealed[c*N+d] = sealed[c*N+d] | BIT(cur[c])
				:: else -> skip  /* the adversary's device: it holds the key, see holds */
				fi;
				holds[c] = holds[c] | BIT(d);
				printf("MSC: %d seals its epoch %d key to %d\n", c, cur[c], d);
				sent[c] = sent[c] | BIT(d)
			:: else -> skip
			fi;
			d++
		:: else -> break
		od
	:: else -> skip /* not in the call: sends nothing */
	fi
}

/* The adversary hands client c a roster: in = entries listed "in" (c's own
   bit says whether c itself is in). Manager.SetRoster. */
inline setRoster(c, in) {
	next = 0;
	d = 0;
	do
	:: d < N ->
		if
		:: d != c && HAS(in, d) && VERIFIES(d) && RECEIVES(d) -> next = next | BIT(d)
		:: else -> skip
		fi;
		d++
	:: else -> break
	od;
	printf("MSC: the server hands %d a roster, in: %d%d%d%d%d%d (devices 0..5)\n", c, HAS(in,0), HAS(in,1), HAS(in,2), HAS(in,3), HAS(in,4), HAS(in,5));
	left = members[c] & ~next;
#ifdef BROKEN_KEEP
	next = next | members[c];  /* never lets a member go */
	left = 0;
#endif
	if
	:: left != 0 && cur[c] == MAXE -> skip  /* bound: no epoch beyond MAXE; this roster is not explored */
	:: else ->
		shown[c] = in & VALID & RECV & ~BIT(c);
		/* a member that left drops out with its key (RemoveKey) */
		d = 0;
		do
		:: d < N -> if :: HAS(left, d) -> held[c*N+d] = NONE :: else -> skip fi; d++
		:: else -> break
		od;
		sent[c] = sent[c] & next;  /* members that came (back) in have not had the key */
		members[c] = next;
		selfIn[c] = HAS(in, c);
		if
		:: !selfIn[c] -> sent[c] = 0  /* the others drop our key; once back in, everyone gets it again */
		:: else -> skip
		fi;
		if
		:: left != 0 -> cur[c] = cur[c] + 1; sent[c] = 0; holds[c] = 0;  /* rekeyLocked: a new epoch, sealed to nobody yet */
			printf("MSC: %d starts epoch %d\n", c, cur[c])
		:: else -> skip
		fi;
		/* EXTENSION POINT (press cut, issue 11): "go private" will be a
		   departure of the press devices from every client's members (the
		   routing rule, route.Routes, reading the roster's segment),
		   handled exactly as 'left' above. */
		sendPending(c)
	fi
}

/* The adversary delivers a key message sealed by s for c, of epoch e
   (Manager.HandleKey; OpenKey's checks are the symbolic crypto). */
inline deliverKey(c, s, e) {
	if
	:: !HAS(members[c], s) -> skip                          /* ErrKeyFromStranger */
	:: HAS(members[c], s) && held[c*N+s] != NONE && e < held[c*N+s] -> skip  /* ErrKeyStale */
	:: else -> held[c*N+s] = e; printf("MSC: %d accepts %d's epoch %d key\n", c, s, e)
	fi
}

/* c shows a code (not pending) when it holds a key of every member. */
inline shows(c, ok) {
	ok = true;
	d = 0;
	do
	:: d < N -> if :: HAS(members[c], d) && held[c*N+d] == NONE -> ok = false :: else -> skip fi; d++
	:: else -> break
	od
}

/* The invariants P2 and P3, checked after every step. */
inline check() {
	a = 0;
	do
	:: a < N ->
		if
		:: HAS(HONEST, a) ->
			d = 0;
			do
			:: d < N ->
				if
				:: d != a && !HAS(shown[a], d) && HAS(holds[a], d) -> p2_forward = false
				:: else -> skip
				fi;
				d++
			:: else -> break
			od;
			b = a + 1;
			do
			:: b < N ->
				if
				:: HAS(HONEST, b) ->
					shows(a, okA);
					shows(b, okB);
					if
					:: okA && okB ->
						/* the code: VerificationCode over self and members, each
						   with its KID (epoch) and key commitment */
						same = (members[a] | BIT(a)) == (members[b] | BIT(b));
						keys = same;
						d = 0;
						do
						:: d < N && same ->
							if
							:: HAS(members[a] | BIT(a), d) ->
								ea = (d == a -> cur[a] : held[a*N+d]);
								eb = (d == b -> cur[b] : held[b*N+d]);
								keys = keys && (ea == eb)
							:: else -> skip
							fi;
							d++
						:: else -> break
						od;
#ifndef BROKEN_CODE
						same = keys;
#endif
						/* equal codes: the same members (the ground truth of each
						   roster) with the same keys */
						if
						:: same && !(((shown[a] | BIT(a)) == (shown[b] | BIT(b))) && keys) -> p3_code = false
						:: else -> skip
						fi
					:: else -> skip
					fi
				:: else -> skip
				fi;
				b++
			:: else -> break
			od
		:: else -> skip
		fi;
		a++
	:: else -> break
	od;
	assert(p1_confined);
	assert(p2_forward);
	assert(p3_code)
}

/* choose a subset of the six entries: one choice among 32 (the operator
   and the forged entry come together: each is refused on its own count) */
inline chooseRoster(r) {
	if
	:: r = 0 :: r = 1 :: r = 2 :: r = 3 :: r = 8 :: r = 9 :: r = 10 :: r = 11 :: r = 16 :: r = 17 :: r = 18 :: r = 19 :: r = 24 :: r = 25 :: r = 26 :: r = 27 :: r = 36 :: r = 37 :: r = 38 :: r = 39 :: r = 44 :: r = 45 :: r = 46 :: r = 47 :: r = 52 :: r = 53 :: r = 54 :: r = 55 :: r = 60 :: r = 61 :: r = 62 :: r = 63
	fi
}

active proctype world() {
	byte c, s, e, r, d, a, b, next, left, ea, eb;
	bool okA, okB, same, keys;

	d_step {
		c = 0;
		do
		:: c < N -> cur[c] = 0; selfIn[c] = false; members[c] = 0; sent[c] = 0; shown[c] = 0; holds[c] = 0;
			d = 0;
			do
			:: d < N -> held[c*N+d] = NONE; sealed[c*N+d] = 0; d++
			:: else -> break
			od;
			c++
		:: else -> break
		od;
		c = 0; d = 0
	}
	do
	/* the server (or the network) hands an honest client a roster */
	:: atomic {
		PICK_HONEST(c);
		chooseRoster(r);
		d_step {
			setRoster(c, r);
			check();
			c = 0; r = 0; d = 0; a = 0; b = 0; next = 0; left = 0; ea = 0; eb = 0; okA = false; okB = false; same = false; keys = false
		}
	   }
	/* ... or delivers (again) a key message that an honest sender sealed
	   to c, or one of its own receiving devices' keys (any epoch) */
	:: atomic {
		PICK_HONEST(c);
		if :: s = 0 :: s = 1 :: s = 3 :: s = 4 fi;
		if :: e = 0 :: e = 1 :: e = 2 fi;
		d_step {
			if
			:: s != c && e <= MAXE && (HAS(sealed[s*N+c], e) || !HAS(HONEST, s)) -> deliverKey(c, s, e); check()
			:: else -> skip  /* no such message */
			fi;
			c = 0; s = 0; e = 0; d = 0; a = 0; b = 0; ea = 0; eb = 0; okA = false; okB = false; same = false; keys = false
		}
	   }
	od
}
