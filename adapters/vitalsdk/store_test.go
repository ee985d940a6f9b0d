package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

func TestStrategyRoundTrip(t *testing.T) {
	for _, s := range []vitalsdk.Strategy{vitalsdk.StrategyNone, vitalsdk.StrategyAPIKey, vitalsdk.StrategyJWT} {
		got, ok := vitalsdk.ParseStrategy(string(s))
		require.True(t, ok, "ParseStrategy(%q)", s)
		require.Equal(t, s, got)
	}
	for _, bad := range []string{"JWT", "apikey", "api_key", "oauth", " jwt"} {
		_, ok := vitalsdk.ParseStrategy(bad)
		require.False(t, ok, "ParseStrategy(%q)", bad)
	}
}

func TestValidateNamesTheFieldAndNoValue(t *testing.T) {
	secret := "sk_us_do-not-print"
	s := vitalsdk.DeviceState{Installation: "phone", Strategy: "oauth", APIKey: secret,
		Record: &vitalsdk.TokenRecord{AccessToken: secret, Region: "mars"}}
	err := s.Validate()
	require.ErrorIs(t, err, vitalsdk.ErrInvalidState)
	var se *vitalsdk.StateError
	require.ErrorAs(t, err, &se)
	require.Equal(t, vitalsdk.StateError{Installation: "phone", Field: vitalsdk.FieldStrategy}, *se, "the first bad field")
	require.NotContains(t, err.Error(), secret)
	require.NotContains(t, err.Error(), "oauth")

	s.Strategy = vitalsdk.StrategyJWT
	require.ErrorAs(t, s.Validate(), &se)
	require.Equal(t, vitalsdk.FieldTokenRegion, se.Field)
	s.Record.Region = ""
	require.NoError(t, s.Validate(), "an empty region means none")
}

func TestCloneSharesNothing(t *testing.T) {
	s := vitalsdk.DeviceState{Installation: "phone", Record: &vitalsdk.TokenRecord{UserID: "u"}}
	c := s.Clone()
	c.Record.UserID = "changed"
	require.Equal(t, "u", s.Record.UserID)
	require.Nil(t, vitalsdk.DeviceState{}.Clone().Record)
}
