/*
 * hotline's join: a credential and a proof of possession over the
 * connection's challenge (docs/PROTOCOL.md, "Join"; docs/MODEL.md).
 *
 * Devices 0..5 as in hotline.pml: 0..4 hold credentials signed by a pinned
 * authority, 5 is the adversary's own device, whose credential no pinned
 * authority signed. Credentials are public (every roster carries them).
 * The network adversary sees every join on the wire and may open
 * connections of its own, presenting any credential with any proof it has
 * seen (a replay) or one made with its own key, and may send a second join
 * on a connection. Here the server is honest: this model checks the gate
 * (internal/server's gate, peer.Session.join), which is what keeps a
 * network adversary out; hotline.pml covers a dishonest server.
 *
 * Variant: BROKEN_NONCE (a gate that does not check that the proof is over
 * this connection's challenge) must give a counterexample.
 */

#define N 6
#define NC 3           /* connections (each with its own challenge nonce: its index) */
#define ADV 6          /* a connection the adversary opened */
#define FREE 7         /* no connection yet / nobody admitted */
#define VALID 31       /* 0b011111: 0..4 verify */

#define BIT(i) (1 << (i))
#define HAS(m, i) (((m) >> (i)) & 1)

byte owner[NC];    /* who opened connection c: a device, ADV, or FREE */
bool used[NC];     /* the challenge of c was consumed by a join */
byte admitted[NC]; /* the device admitted on c, FREE if none */
byte proofs[N];    /* proofs[d]: challenges d signed a proof over (the adversary saw them all) */

bool j1_own_proof = true;  /* J1: a device is admitted only on a connection it opened itself */

/* The gate: session.join (one join per challenge), gate.Admit
   (VerifyCredential, VerifyJoinProof over this connection's nonce, line and
   call), call.Join (a device at most once in the call). */
inline gate(gc, gcred, gsigner, gnonce) {
	if
	:: used[gc] -> skip                              /* "the challenge was already used" */
	:: else ->
		used[gc] = true;
		if
		:: !HAS(VALID, gcred) -> skip                /* credential not valid for the line */
		:: HAS(VALID, gcred) && gsigner != gcred -> skip   /* proof by another key than the credential's */
#ifndef BROKEN_NONCE
		:: HAS(VALID, gcred) && gsigner == gcred && gnonce != gc -> skip  /* proof over another challenge */
#endif
		:: else ->
			k = 0;
			dup = false;
			do
			:: k < NC -> dup = dup || admitted[k] == gcred; k++
			:: else -> break
			od;
			if
			:: dup -> skip                          /* the device is already in the call */
			:: else ->
				admitted[gc] = gcred;
				printf("MSC: connection %d (opened by %d) admitted as device %d\n", gc, owner[gc], gcred);
				if
				:: owner[gc] != gcred -> j1_own_proof = false
				:: else -> skip
				fi
			fi
		fi
	fi;
	assert(j1_own_proof)
}

active proctype world() {
	byte c, d, p, n, k;
	bool dup;

	d_step {
		c = 0;
		do
		:: c < NC -> owner[c] = FREE; used[c] = false; admitted[c] = FREE; c++
		:: else -> break
		od;
		c = 0
	}
	do
	/* an honest device opens a connection and joins with its own proof */
	:: atomic {
		if :: c = 0 :: c = 1 :: c = 2 fi;
		if :: d = 0 :: d = 1 :: d = 2 :: d = 3 :: d = 4 fi;
		d_step {
			if
			:: owner[c] == FREE ->
				owner[c] = d;
				proofs[d] = proofs[d] | BIT(c);
				printf("MSC: device %d joins on connection %d\n", d, c);
				gate(c, d, d, c)
			:: else -> skip
			fi;
			c = 0; d = 0; k = 0; dup = false
		}
	   }
	/* the adversary opens a connection, or sends another join on one it
	   holds, with any credential and a proof it saw or made itself */
	:: atomic {
		if :: c = 0 :: c = 1 :: c = 2 fi;
		if :: d = 0 :: d = 1 :: d = 2 :: d = 3 :: d = 4 :: d = 5 fi;
		if :: p = 0 :: p = 1 :: p = 2 :: p = 3 :: p = 4 :: p = 5 fi;
		if :: n = 0 :: n = 1 :: n = 2 fi;
		d_step {
			if
			:: (owner[c] == FREE || owner[c] == ADV) && (p == 5 || HAS(proofs[p], n)) ->
				owner[c] = ADV;
				printf("MSC: the adversary sends on connection %d the credential of %d with %d's proof over challenge %d\n", c, d, p, n);
				gate(c, d, p, n)
			:: else -> skip
			fi;
			c = 0; d = 0; p = 0; n = 0; k = 0; dup = false
		}
	   }
	/* an honest device's connection closes: it leaves the call */
	:: atomic {
		if :: c = 0 :: c = 1 :: c = 2 fi;
		d_step {
			if
			:: owner[c] != FREE && owner[c] != ADV -> admitted[c] = FREE
			:: else -> skip
			fi;
			c = 0
		}
	   }
	od
}
