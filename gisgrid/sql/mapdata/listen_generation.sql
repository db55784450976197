-- Hear every commit that changes grid generations (sent by generation_notify's trigger).
LISTEN gisgrid_generation
