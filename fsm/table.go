package fsm

import "strings"

// ProfileTable returns the Markdown table of every profile that
// docs/reference/profiles.md shows, generated from the profile data so that the two cannot drift
// apart (a test keeps the page in step).
func ProfileTable() string {
	var b strings.Builder
	b.WriteString("| profile | versions | exchange and API hosts | user ID case | deletion | a data call's 401 | same-user `signIn` | API-key → token `signIn` persists | `identifyExternalUser` |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range profiles {
		cells := []string{"`" + p.Name + "`", p.platformName() + " " + p.Versions, exchangeCell(p), caseCell(p),
			deletionCell(p), unauthorizedCell(p), sameUserCell(p), migrationCell(p), yesNo(p.HasIdentify)}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

func (p Profile) platformName() string {
	name := map[Platform]string{IOS: "iOS", Android: "Android"}[p.Platform]
	switch p.Wrapper {
	case Flutter:
		return "Flutter"
	case ReactNative:
		return "React Native"
	}
	return name
}

func exchangeCell(p Profile) string {
	if p.LegacyTokenEndpoint {
		return "Firebase/GCIP, `tryvital.io`"
	}
	return "`/v1/token`, `junction.com`"
}

func caseCell(p Profile) string {
	switch {
	case p.LowerCaseUserID:
		return "lower case"
	case p.UpperCaseUserID:
		return "UPPER CASE"
	}
	return "as stored"
}

func deletionCell(p Profile) string {
	switch {
	case !p.DetectsDeletion:
		return "never detected: still signed in, every refresh fails"
	case p.AutoSignOutOnDeletion:
		return "auto sign-out"
	}
	return "`{configured}`, no user, external ID kept"
}

func unauthorizedCell(p Profile) string {
	switch {
	case !p.RefreshesOnUnauthorized:
		return "returned; refresh only at local expiry"
	case p.UnauthorizedRetryCrashes:
		return "refresh, then the retry crashes the app"
	}
	return "refresh and retry once"
}

func sameUserCell(p Profile) string {
	if p.SameUserSignInThrows {
		return "throws `alreadySignedIn`"
	}
	return "no-op"
}

func migrationCell(p Profile) string {
	if p.APIKeyMigrationPersists {
		return "yes"
	}
	return "no (status stays `{configured,signedIn,useApiKey}`, API-key mode after relaunch; from signed out it reads `{configured}` until relaunch)"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
