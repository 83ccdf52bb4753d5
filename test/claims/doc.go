// Package claims ties docs/THREAT_MODEL.md to the code: its test parses the
// table "Claims, tests and model properties" and checks that every test it
// names exists in the package it names.
package claims
