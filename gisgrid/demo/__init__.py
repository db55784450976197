"""The demo counties: real outlines and names; GENERATED divisions, people, cases, patrols."""
