package junction

import (
	"context"
	"errors"
)

// UserExists reports whether the team still has Vital user userID (GET
// /v2/user/{id}): false, without an error, when the API answers that it
// has no such user. It makes a Client an audit.UserChecker.
func (c *Client) UserExists(ctx context.Context, userID string) (bool, error) {
	_, err := c.GetUser(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
