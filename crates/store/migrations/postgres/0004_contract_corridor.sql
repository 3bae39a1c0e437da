-- Inter-provincial contracts of coupled sessions record the corridor their energy crosses and
-- the losses per period: JSON {"from", "to", "losses": [{period, volume}]}; NULL otherwise.
ALTER TABLE contracts ADD COLUMN corridor TEXT;
