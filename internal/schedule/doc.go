// Package schedule is the pure logic of calls on a line between two sides:
// who may request, accept, decline, cancel, start and end a call and when
// (a state machine), times across the two sides' zones, and the iCalendar
// export. It keeps no state of its own and knows nothing of databases or
// HTTP; internal/store persists Call values and internal/httpapi maps the
// errors below to statuses.
//
// # States
//
//	(none) ──request──► requested ──accept──► accepted ──start──► live ──end──► ended
//	                        │  └──decline──► declined      │
//	                        └──cancel──► cancelled ◄──cancel┘
//
// declined, ended and cancelled are final. Every transition, including the
// request itself, is appended to Call.History as a TransitionRecord naming
// the side and the person who made it and when.
//
// # Who may make which transition
//
// The actor must belong to one of the line's two sides, and one of the
// actor's roles must allow the event's action in internal/role's matrix
// (principal and operator do; advisers, interpreters, the press officer,
// press and monitors do not). On top of that, by side:
//
//	event    from        side
//	request  (none)      either side; it becomes the initiating side
//	accept   requested   the other side only: nobody accepts their own request
//	decline  requested   the other side only
//	cancel   requested   the initiating side only (it withdraws its request;
//	                     the other side declines instead)
//	cancel   accepted    either side: an agreed call is called off by whoever must
//	start    accepted    either side (the call goes live when either is ready)
//	end      live        either side (either may hang up)
//
// Times: a transition may not be earlier than the one before it (ErrClock);
// a request cannot be accepted once its slot (scheduled start + expected
// duration) is over (ErrExpired). A call may start before its scheduled
// time: the two sides may agree to begin early.
//
// # Time requests
//
// ParseWhen reads when a requester wants the call, in this grammar (tokens
// separated by spaces; keywords lower case; at most MaxWhenLen bytes):
//
//	when  = "now"
//	      | "in" SP span                       ; from now, in absolute time
//	      | "at" SP clock [SP day] [SP zone]
//	      | "at" SP date SP clock [SP zone]
//	span  = hours "h" [minutes "m"] | minutes "m"   ; 1–4 digits each, e.g. 2h, 90m, 1h30m
//	clock = HH ":" MM                         ; 24-hour, two digits each
//	day   = "today" | "tomorrow"
//	date  = YYYY "-" MM "-" DD
//	zone  = an IANA time zone name (Europe/Moscow) or "UTC"
//
// The wall-clock time is read in zone if given, else in the requester's own
// zone; "today" and "tomorrow" are days in that same zone (at 23:00 in New
// York, "at 18:00 tomorrow Europe/Moscow" is the day after Moscow's today).
// "at HH:MM" without a day is the next such time: today if it has not
// passed, else tomorrow. The result must not lie in the past (a minute of
// grace covers the current minute) nor more than MaxAhead ahead.
//
// Daylight saving (wall-clock times are resolved with the zone's rules from
// the embedded tz database, so results do not depend on the host):
//   - a wall time that does not exist (the spring-forward gap) is an error,
//     ErrNonexistent, naming the gap ("02:00 EST to 03:00 EDT");
//   - a wall time that happens twice (fall back) is taken as its earlier
//     instant, the one before the clocks go back — unless that one has
//     already passed and the later has not ("at 01:50" said at 01:45 in the
//     repeated hour means in five minutes); ParseWhenNote's note says which.
//
// "in 24h" is 24 hours of elapsed time, so across a change it lands on a
// different wall-clock hour; use "at HH:MM tomorrow" for the same hour.
//
// # iCalendar
//
// ICS renders a call as an RFC 5545 VCALENDAR with one VEVENT, times in UTC,
// the agenda and both sides' local times in the description, text escaped
// (§3.3.11) and lines folded at 75 octets (§3.1).
package schedule
